package stack_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/system"
)

// failingOnce is Step Functions refusing the first StartExecution (a
// throttle), then starting executions as the stack's own starter does.
type failingOnce struct {
	generation.Starter
	calls atomic.Int32
}

func (f *failingOnce) Start(ctx context.Context, generationID string) (string, error) {
	if f.calls.Add(1) == 1 {
		return "", generation.Errorf(generation.EUNAVAILABLE, "StartExecution: ThrottlingException")
	}
	return f.Starter.Start(ctx, generationID)
}

// A StartExecution that fails burns nothing: the client gets a 503, and the
// same Idempotency-Key retried starts that very generation, which is then
// delivered.
func TestStartFailingOnceThenTheSameKeyDelivers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, cleanProvider(nil), nil)
	sys := *h.stack.System
	starter := &failingOnce{Starter: h.stack.Starter}
	sys.Starter = starter
	api := httptest.NewServer(sys.API(system.APIOptions{LocalAuth: true}).Handler())
	t.Cleanup(api.Close)

	h.api, h.idempotencyKey = api, "order-17"
	post := func() (int, map[string]any) { return h.post(`{"count": 2, "width": 256, "height": 256}`) }

	status, out := post()
	require.Equal(t, http.StatusServiceUnavailable, status, out)
	require.NotContains(t, out["error"].(map[string]any)["message"], "Throttling", "the AWS error stays in the log")

	status, out = post()
	require.Equal(t, http.StatusAccepted, status, out)
	id := out["id"].(string)
	require.EqualValues(t, 2, starter.calls.Load(), "the retry started the workflow")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := h.stack.Starter.Wait(ctx, id)
	require.NoError(t, err)
	g, err := h.stack.Store.Generation(ctx, id)
	require.NoError(t, err)
	require.Equal(t, generation.StatusDelivered, g.Status)
	require.Equal(t, 2, g.DeliveredCount)

	status, out = post()
	require.Equal(t, http.StatusAccepted, status, out)
	require.Equal(t, id, out["id"], "the same key answers the same, now delivered, generation")
	require.EqualValues(t, 2, starter.calls.Load(), "and starts nothing more")
}
