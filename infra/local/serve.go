package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/designerbff/pipeline/infra/local/stack"
	"github.com/designerbff/pipeline/shared/config"
)

// DefaultDataDir keeps `make serve`'s database and images between runs.
const DefaultDataDir = ".local/serve"

// DemoDataDir is where `make demo` keeps its run's database and images (a
// fresh folder each run) for `monitor` to read.
const DemoDataDir = ".local/demo"

// serveCommand serves the API over the local stack until interrupted. Its
// Postgres cluster and S3 objects live in --data (unless DATABASE_URL /
// R2_ENDPOINT name other ones), so a restart, even after kill -9, finds
// every generation and image; it resumes every unfinished generation,
// finalises stalled ones and recalibrates on a schedule.
func serveCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data", DefaultDataDir, "folder keeping the local Postgres cluster and S3 objects between runs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return err
	}
	log := logger(stderr, cfg.LogLevel)
	s, err := stack.Start(ctx, stack.Options{
		Config: cfg, Logger: log, FeedbackPoll: 200 * time.Millisecond, DataDir: *dataDir,
		Maintenance: stack.Maintenance{StallTimeout: cfg.StallTimeout, Recalibrate: cfg.RecalibrateInterval, Webhooks: 5 * time.Second},
	})
	if err != nil {
		return err
	}
	defer s.Close(context.WithoutCancel(ctx))
	resumed, err := s.Resume(ctx)
	if err != nil {
		return err
	}
	if len(resumed) > 0 {
		fmt.Fprintf(stdout, "resumed %d unfinished generations\n", len(resumed))
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port))
	fmt.Fprintf(stdout, "database %s\nS3 endpoint %s (bucket %s)\n", redactURL(s.Config.DatabaseURL), s.Config.ObjectEndpoint, s.Config.ObjectBucket)
	srv := s.API(true).Server(addr)
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

// redactURL is a database URL fit to print: the password (and any password
// query parameter) replaced by "xxxxx". A string that does not parse as a
// URL (a key=value DSN) is printed with nothing but its host.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return "(a key=value connection string, not shown)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
