package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/designerbff/pipeline/infra/local/stack"
	"github.com/designerbff/pipeline/shared/config"
)

// serveCommand serves the API over the local stack until interrupted.
func serveCommand(ctx context.Context, _ []string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return err
	}
	log := logger(stderr, cfg.LogLevel)
	s, err := stack.Start(ctx, stack.Options{Config: cfg, Logger: log, FeedbackPoll: 200 * time.Millisecond})
	if err != nil {
		return err
	}
	defer s.Close(context.WithoutCancel(ctx))
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port))
	srv := &http.Server{Addr: addr, Handler: s.API(true).Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	fmt.Fprintf(stdout, "API on http://%s (local identity: Authorization: Bearer <user-id>); Ctrl-C stops\n", addr)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
