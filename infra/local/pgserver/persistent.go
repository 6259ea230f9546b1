package pgserver

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// Persistent is a cluster whose data directory outlives the process (`make
// serve`'s data directory), unlike Server's throwaway one.
type Persistent struct {
	srv *Server
	// reused: StartIn found the server already running (another process
	// started it), so whoever stops it decides for that process too.
	reused bool
}

// Reused reports whether StartIn found the server already running rather
// than starting it.
func (p *Persistent) Reused() bool { return p.reused }

// StartIn starts the cluster kept in dir, creating it on first use. A
// server still running there (its process was killed, the postmaster was
// not) is reused as it is. dir must be reachable by the postgres user when
// running as root.
func StartIn(ctx context.Context, dir string, opts Options) (*Persistent, error) {
	binDir, err := findBinDir(ctx, opts)
	if err != nil {
		return nil, err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	s := &Server{binDir: binDir, dir: dir, durable: true}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("pgserver: create %s: %w", dir, err)
	}
	if os.Geteuid() == 0 {
		if s.runAs, err = runAsPostgres(); err != nil {
			return nil, err
		}
		if err := s.chown(dir); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err != nil {
		if out, err := s.run(ctx, "initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C"); err != nil {
			return nil, fmt.Errorf("pgserver: initdb: %w: %s", err, tail(out, 2000))
		}
	}
	if port, ok := s.runningPort(ctx); ok {
		s.port = port
		return &Persistent{srv: s, reused: true}, nil
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s.port = port
	if err := s.Resume(ctx); err != nil {
		return nil, err
	}
	return &Persistent{srv: s}, nil
}

// runningPort is the port of a server already running on the data
// directory (postmaster.pid's fourth line), if pg_ctl status finds one.
func (s *Server) runningPort(ctx context.Context) (int, bool) {
	data := filepath.Join(s.dir, "data")
	if _, err := s.run(ctx, "pg_ctl", "-D", data, "status"); err != nil {
		return 0, false
	}
	pid, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	lines := bytes.Split(pid, []byte("\n"))
	if len(lines) < 4 {
		return 0, false
	}
	port, err := strconv.Atoi(strings.TrimSpace(string(lines[3])))
	return port, err == nil
}

// URL returns a connection URL for database dbname as the superuser.
func (p *Persistent) URL(dbname string) string { return p.srv.URL(dbname) }

// Stop stops the server cleanly (a checkpoint first), keeping its data.
func (p *Persistent) Stop(ctx context.Context) error {
	return p.srv.Halt(ctx, "fast")
}

// runAsPostgres is the Debian package's postgres user, which runs initdb and
// the server when this process is root (initdb refuses root).
func runAsPostgres() (*user.User, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgserver: running as root needs the postgres user to run initdb: %w", err)
	}
	return u, nil
}
