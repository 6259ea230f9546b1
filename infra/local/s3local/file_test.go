package s3local_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/s3local"
)

func put(t *testing.T, url string, body []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode, "PUT %s", url)
}

// Slow readers of an object while writes grow the bolt file past its memory
// map: every body read is the object's bytes (bolt remaps the file as it
// grows; a body still pointing into the old map would fault the process),
// and the objects are there again after a restart on the same file.
func TestFileServesWhileWritesGrowIt(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s3.bolt")
	srv, err := s3local.StartFile(path)
	require.NoError(t, err)
	put(t, srv.URL()+"/bucket", nil)
	first := bytes.Repeat([]byte("first object "), 700_000) // ~9 MB: more than a socket buffer, so the server writes it while the client reads
	put(t, srv.URL()+"/bucket/first", first)

	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 2 {
				resp, err := http.Get(srv.URL() + "/bucket/first")
				if err != nil {
					t.Errorf("GET: %v", err)
					return
				}
				var got bytes.Buffer
				buf := make([]byte, 64<<10)
				for {
					n, err := resp.Body.Read(buf)
					got.Write(buf[:n])
					if err != nil {
						break
					}
					time.Sleep(time.Millisecond) // read slowly, across the writes' remaps
				}
				_ = resp.Body.Close()
				if !bytes.Equal(got.Bytes(), first) {
					t.Errorf("GET returned %d bytes, not the object", got.Len())
				}
			}
		})
	}
	big := bytes.Repeat([]byte{7}, 1<<20)
	for i := range 48 { // ~48 MB: bolt remaps several times
		put(t, fmt.Sprintf("%s/bucket/grow-%d", srv.URL(), i), big)
	}
	wg.Wait()
	require.NoError(t, srv.Close())

	again, err := s3local.StartFile(path)
	require.NoError(t, err)
	defer again.Close()
	resp, err := http.Get(again.URL() + "/bucket/first")
	require.NoError(t, err)
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, first, got, "the object survives a restart")
}
