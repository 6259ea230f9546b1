package webhook_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/pgtest"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/postgres"
	"github.com/designerbff/pipeline/shared/webhook"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// A receiver that always answers 500 gets MaxAttempts attempts, spaced by
// the doubling backoff, and the notification ends failed with every attempt
// recorded.
func TestBackoffThenFailedForGood(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	rcv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(rcv.Close)
	pool := pgtest.NewDB(t)
	st := postgres.NewStore(pool)
	ctx := context.Background()
	settings, err := generation.ParseSettings([]byte(`{"count": 1, "webhookUrl": "`+rcv.URL+`/h"}`), generation.Defaults{})
	require.NoError(t, err)
	g, _, err := st.CreateGeneration(ctx, generation.Generation{UserID: "u", RequestedCount: 1, Settings: settings, Provider: "procedural"})
	require.NoError(t, err)
	require.NoError(t, st.MarkGenerationFailed(ctx, g.ID, "failed: test", time.Now()))

	d := &webhook.Dispatcher{
		Outbox: st, Secret: []byte("s"), Hosts: []string{strings.TrimPrefix(rcv.URL, "https://")},
		Client:      webhook.NewClient(true, rcv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs),
		MaxAttempts: 4, Backoff: time.Minute,
	}
	// Far enough ahead that every backoff so far has passed.
	for i := range 6 {
		_, err := d.RunDue(ctx, time.Now().Add(time.Duration(i+1)*24*time.Hour), "")
		require.NoError(t, err)
	}
	require.EqualValues(t, 4, calls.Load(), "MaxAttempts, then no more")
	var state string
	var attempts int
	require.NoError(t, pool.QueryRow(ctx, `SELECT state, attempts FROM webhook_deliveries WHERE generation_id = $1`, g.ID).Scan(&state, &attempts))
	require.Equal(t, "failed", state)
	require.Equal(t, 4, attempts)
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM webhook_attempts WHERE status_code = 500 AND error = 'receiver answered 500'`).Scan(&n))
	require.Equal(t, 4, n)

	// The schedule of waits: 1, 2, 4 minutes (doubling), capped at MaxBackoff.
	require.Equal(t, []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute}, webhook.Backoffs(d, 3))
	long := webhook.Backoffs(&webhook.Dispatcher{}, 20)
	require.Equal(t, webhook.DefaultBackoff, long[0])
	require.Equal(t, webhook.MaxBackoff, long[19])
}

// Sign is HMAC-SHA256 over "<timestamp>.<body>", hex, with a version.
func TestSign(t *testing.T) {
	t.Parallel()
	// echo -n '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
	require.Equal(t, "v1=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686", webhook.Sign([]byte("secret"), 1700000000, []byte(`{"a":1}`)))
}
