package generation_test

import (
	"fmt"
	"testing"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/stretchr/testify/require"
)

func TestErrorCodeAndMessage(t *testing.T) {
	t.Parallel()
	wrapped := fmt.Errorf("load: %w", generation.FieldError("count", "must be 1-100"))
	require.Equal(t, generation.EINVALID, generation.ErrorCode(wrapped))
	require.Equal(t, "count: must be 1-100", generation.ErrorMessage(wrapped))
	require.Equal(t, generation.EINTERNAL, generation.ErrorCode(fmt.Errorf("boom")))
	require.Equal(t, "internal error", generation.ErrorMessage(fmt.Errorf("secret dsn")))
	require.Equal(t, "", generation.ErrorCode(nil))
}
