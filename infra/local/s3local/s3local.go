// Package s3local runs an in-process S3-compatible server (gofakes3) on
// 127.0.0.1, for local runs and tests: in memory (Start), or kept in a bolt
// file that survives restarts (StartFile, `make serve`). It does not check
// credentials; any static keys work.
package s3local

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3bolt"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	bolt "go.etcd.io/bbolt"
)

// Server is a running S3 API on a loopback port.
type Server struct {
	srv      *http.Server
	url      string
	done     chan struct{}
	serveErr error        // Serve's failure, written before done closes
	closeDB  func() error // the bolt file's, when StartFile opened one
}

// NewHandler returns an S3 API handler over a fresh, empty memory backend,
// for callers that bring their own listener (a TLS test server, say).
func NewHandler() http.Handler {
	return handler(s3mem.New())
}

func handler(b gofakes3.Backend) http.Handler {
	return gofakes3.New(b, gofakes3.WithLogger(gofakes3.DiscardLog())).Server()
}

// Start serves a fresh, empty S3 API on 127.0.0.1 at a free port. It uses a
// real listener (not httptest) so that a demo process can use it too.
func Start() (*Server, error) {
	return serve(NewHandler())
}

// StartFile serves the objects kept in the bolt database at path (created
// when missing), so that they survive a restart, even a killed process: bolt
// commits every write with an fsync, and the file lock dies with the process.
func StartFile(path string) (*Server, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open s3 data file %s: %w", path, err)
	}
	s, err := serve(handler(boltBackend{Backend: s3bolt.New(db), db: db}))
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s.closeDB = db.Close
	return s, nil
}

func serve(h http.Handler) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for s3 server: %w", err)
	}
	s := &Server{
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
		},
		url:  "http://" + ln.Addr().String(),
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.serveErr = err
		}
	}()
	return s, nil
}

// URL is the server's base URL (http://127.0.0.1:port), R2_ENDPOINT for
// the shared/r2 client (with path-style addressing).
func (s *Server) URL() string { return s.url }

// Close stops the server, dropping open connections, and reports a serve
// failure if there was one. Objects in memory are lost; a file keeps them.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.done
	if s.closeDB != nil {
		err = errors.Join(err, s.closeDB())
	}
	if s.serveErr != nil {
		return fmt.Errorf("s3 server: %w", s.serveErr)
	}
	if err != nil {
		return fmt.Errorf("close s3 server: %w", err)
	}
	return nil
}
