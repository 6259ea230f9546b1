package s3local_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/s3local"
)

func TestStartClose(t *testing.T) {
	t.Parallel()
	srv, err := s3local.Start()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(srv.URL(), "http://127.0.0.1:"), srv.URL())

	// A fresh server answers ListBuckets (path "/").
	resp, err := http.Get(srv.URL() + "/")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)

	require.NoError(t, srv.Close())
	require.NoError(t, srv.Close(), "closing twice is harmless")
	_, err = http.Get(srv.URL() + "/")
	require.Error(t, err, "a closed server must not answer")
}
