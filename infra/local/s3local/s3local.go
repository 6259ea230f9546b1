// Package s3local runs an in-process S3-compatible server (gofakes3 with a
// memory backend) on 127.0.0.1, for local runs and tests. It does not check
// credentials; any static keys work.
package s3local

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Server is a running S3 API on a loopback port.
type Server struct {
	srv  *http.Server
	url  string
	done chan struct{}

	mu       sync.Mutex
	serveErr error
}

// NewHandler returns an S3 API handler over a fresh, empty memory backend,
// for callers that bring their own listener (a TLS test server, say).
func NewHandler() http.Handler {
	return gofakes3.New(s3mem.New(), gofakes3.WithLogger(gofakes3.DiscardLog())).Server()
}

// Start serves a fresh, empty S3 API on 127.0.0.1 at a free port. It uses a
// real listener (not httptest) so that a demo process can use it too.
func Start() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for s3 server: %w", err)
	}
	s := &Server{
		srv: &http.Server{
			Handler:           NewHandler(),
			ReadHeaderTimeout: 10 * time.Second,
		},
		url:  "http://" + ln.Addr().String(),
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.mu.Lock()
			s.serveErr = err
			s.mu.Unlock()
		}
	}()
	return s, nil
}

// URL is the server's base URL (http://127.0.0.1:port), the Endpoint for
// objectstore.Config (with UsePathStyle).
func (s *Server) URL() string { return s.url }

// Close stops the server, dropping open connections, and reports a serve
// failure if there was one. The stored objects are lost.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.serveErr != nil {
		return fmt.Errorf("s3 server: %w", s.serveErr)
	}
	if err != nil {
		return fmt.Errorf("close s3 server: %w", err)
	}
	return nil
}
