package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/pgserver"
	"github.com/designerbff/pipeline/infra/local/stack"
	"github.com/designerbff/pipeline/infra/local/stack/stacktest"
	"github.com/designerbff/pipeline/shared/httpapi"
)

// serveProcess is `serve` running as a child process (a built binary: with
// `go run` a kill would reach only the go command).
type serveProcess struct {
	cmd *exec.Cmd
	url string
	out *lockedBuffer
}

// lockedBuffer is a bytes.Buffer a command writes to while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startServe(t *testing.T, bin, dataDir string) *serveProcess {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	p := &serveProcess{url: "http://127.0.0.1:" + strconv.Itoa(port), out: &lockedBuffer{}}
	p.cmd = exec.Command(bin, "serve", "--data", dataDir)
	p.cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "DATABASE_URL=", "R2_ENDPOINT=", "FEEDBACK_QUEUE_URL=", "LOG_LEVEL=warn")
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	require.NoError(t, p.cmd.Start())
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	})
	require.Eventually(t, func() bool {
		resp, err := http.Get(p.url + "/v1/generations/none")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}, 2*time.Minute, 50*time.Millisecond, "serve did not come up:\n%s", p.out)
	return p
}

func (p *serveProcess) post(t *testing.T, reference []byte, settings map[string]any) string {
	t.Helper()
	id, err := postGeneration(p.url, reference, settings)
	require.NoError(t, err, "serve said:\n%s", p.out)
	return id
}

func (p *serveProcess) generation(t *testing.T, id string) httpapi.GenerationBody {
	t.Helper()
	var g httpapi.GenerationBody
	stacktest.GetJSON(t, p.url+"/v1/generations/"+id, "demo-designer", &g)
	return g
}

// `serve` killed with SIGKILL while 5 generations are in flight, started
// again on the same data directory: it resumes all of them, every one is
// delivered, and every delivered image's presigned URL answers 200 (the
// objects outlived the process in the bolt file, the rows in the kept
// cluster).
func TestServeSurvivesKill(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs serve twice")
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "serve-kill-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755)) // the postgres user runs the cluster when root
	dataDir := filepath.Join(dir, "data")
	t.Cleanup(func() {
		// The killed process left its postmaster running; stop it.
		if pg, err := pgserver.StartIn(ctx, filepath.Join(dataDir, "postgres"), pgserver.Options{}); err == nil {
			_ = pg.Stop(ctx)
		}
		_ = os.RemoveAll(dir)
	})
	bin := filepath.Join(dir, "local")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	reference, err := stack.DemoReference(ctx)
	require.NoError(t, err)

	first := startServe(t, bin, dataDir)
	ids := make([]string, 5)
	for i := range ids {
		ids[i] = first.post(t, reference, map[string]any{"count": 8, "width": 512, "height": 512, "prompt": fmt.Sprintf("coat %d", i)})
	}
	require.NoError(t, first.cmd.Process.Signal(syscall.SIGKILL))
	_ = first.cmd.Wait()

	restart := time.Now()
	second := startServe(t, bin, dataDir)
	require.Eventually(t, func() bool {
		for _, id := range ids {
			if !second.generation(t, id).Status.Final() {
				return false
			}
		}
		return true
	}, 3*time.Minute, 200*time.Millisecond, "serve output:\n%s", second.out)
	t.Logf("5 generations in flight at SIGKILL: all final %s after the restart began (%s)", time.Since(restart).Round(time.Millisecond), second.out)
	require.Contains(t, second.out.String(), "resumed", "the kill came after every generation finished: nothing was in flight")
	for _, id := range ids {
		g := second.generation(t, id)
		require.Equal(t, "delivered", string(g.Status), "%s: %s", id, g.Error)
		require.Len(t, g.Images, 8)
		require.False(t, g.UpdatedAt.IsZero())
		for _, img := range g.Images {
			resp, err := http.Get(img.URL)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode, img.URL)
		}
	}
	require.NoError(t, second.cmd.Process.Signal(os.Interrupt))
	require.NoError(t, second.cmd.Wait(), "a graceful stop:\n%s", second.out)
}
