package stage

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/sfnlocal"
	"github.com/designerbff/pipeline/shared/generation"
)

// TestErrorNames pins the error names statemachine/generation.asl.json
// retries and catches: each domain error, returned through a real Lambda
// handler, must surface under exactly this name.
func TestErrorNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err   error
		name  string
		cause string
	}{
		{&generation.ProviderError{Kind: generation.ProviderThrottled, Provider: "p", RetryAfter: time.Second}, "ProviderThrottled", "provider p: throttled"},
		{fmt.Errorf("generate c1: %w", &generation.ProviderError{Kind: generation.ProviderUnavailable, Provider: "p"}), "ProviderUnavailable", "generate c1: provider p: unavailable"},
		{generation.FieldError("provider", "unknown"), "InvalidRequest", "provider: unknown"},
		{generation.Errorf(generation.ETOOLARGE, "too big"), "InvalidRequest", "too big"},
		{fmt.Errorf("load: %w", generation.Errorf(generation.ENOTFOUND, "no such candidate")), "NotFound", "load: not_found: no such candidate"},
		{generation.Errorf(generation.ECONFLICT, "already delivered"), "Conflict", "already delivered"},
		{generation.Errorf(generation.EUNAVAILABLE, "database down"), "DependencyUnavailable", "database down"},
		{fmt.Errorf("query: %w", context.DeadlineExceeded), "DependencyUnavailable", "query: context deadline exceeded"},
		{errors.New("boom"), "InternalError", "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			handler := func(context.Context, CandidateInput) (GenerateOutput, error) { return GenerateOutput{}, named(tt.err) }
			_, err := sfnlocal.LambdaInvoker(handler)(context.Background(), []byte(`{}`))
			require.Error(t, err)
			require.Equal(t, tt.name, sfnlocal.ErrorName(err))
			require.Contains(t, err.Error(), tt.cause, "the cause keeps the message")
		})
	}
	require.NoError(t, named(nil))
}
