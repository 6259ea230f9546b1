package stage

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Both Cause shapes give the same stored reason; the detail never reaches it.
func TestDescribeFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       StateError
		code     string
		detail   string
		userText string
	}{
		{StateError{"DependencyUnavailable", `{"errorMessage":"select: unexpected EOF","errorType":"DependencyUnavailable","stackTrace":[]}`},
			"dependency_unavailable", "select: unexpected EOF", "unavailable"},
		{StateError{"DependencyUnavailable", "select: unexpected EOF"}, "dependency_unavailable", "select: unexpected EOF", "unavailable"},
		{StateError{"InternalError", `{"errorMessage":"boom","errorType":"InternalError"}`}, "internal_error", "boom", "our side"},
		{StateError{"Lambda.ServiceException", "Rate exceeded"}, "internal_error", "Rate exceeded", "our side"},
		{StateError{"States.Timeout", "task timed out after 30s"}, "timeout", "task timed out after 30s", "too long"},
		{StateError{"InvalidRequest", `{"errorMessage":"provider: unknown provider \"x\"","errorType":"InvalidRequest"}`},
			"invalid_request", `provider: unknown provider "x"`, "unknown provider"},
		{StateError{"", ""}, "internal_error", "", "our side"},
	}
	for _, tt := range tests {
		f := describeFailure(tt.in)
		require.Equal(t, tt.code, f.Code, tt.in)
		require.Equal(t, tt.detail, f.Detail, tt.in)
		require.Contains(t, f.Message, tt.userText)
		if tt.in.Error != "InvalidRequest" && tt.detail != "" {
			require.NotContains(t, f.Message, tt.detail, "the detail is for the log")
		}
	}
}
