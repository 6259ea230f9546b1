package generation_test

import (
	"testing"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/stretchr/testify/require"
)

func TestIDs(t *testing.T) {
	t.Parallel()
	a := generation.EventID("feedback", "c1", "failed")
	require.True(t, generation.IsUUID(a))
	require.Equal(t, a, generation.EventID("feedback", "c1", "failed"))
	require.NotEqual(t, a, generation.EventID("feedback", "c1", "selected"))
	require.NotEqual(t, generation.EventID("ab", "c"), generation.EventID("a", "bc"), "parts are separated")
	require.Equal(t, byte('5'), a[14], "version 5 layout")
	n := generation.NewID()
	require.True(t, generation.IsUUID(n))
	require.Equal(t, byte('4'), n[14])
	require.NotEqual(t, n, generation.NewID())
	for _, bad := range []string{"", "x", "123e4567-e89b-12d3-a456-42661417400", "123e4567-e89b-12d3-a456_426614174000", "123e4567-e89b-12d3-a456-42661417400g"} {
		require.False(t, generation.IsUUID(bad), bad)
	}
}
