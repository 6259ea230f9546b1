// Package pgserver starts a throwaway PostgreSQL cluster with the machine's
// own binaries (initdb + pg_ctl) for tests and the local stack: a temporary
// data directory, a free port on 127.0.0.1, durability switched off for
// speed, and everything removed again by Stop.
package pgserver

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options tune Start. The zero value is fine.
type Options struct {
	// TempDir is where the cluster's temporary directory is created. The
	// default is /dev/shm when it exists (the data is thrown away anyway, and
	// creating databases there is several times faster than on disk), else
	// os.TempDir(). It must be reachable by the postgres user when running
	// as root.
	TempDir string
	// BinDir holds initdb and pg_ctl. Empty means the highest version in
	// /usr/lib/postgresql/*/bin, then PATH.
	BinDir string
	// NoInstall forbids `apt-get install postgresql` when no binaries are
	// found and the process runs as root.
	NoInstall bool
}

// Server is a running throwaway cluster. Its superuser is `postgres`, with
// trust authentication on 127.0.0.1 only.
type Server struct {
	dir     string // temporary directory: data/, the socket and server.log
	binDir  string
	port    int
	runAs   *user.User // the postgres user when started as root, else nil
	stopped bool
	halted  bool // Halt stopped the server; its data directory is kept
	durable bool // StartIn's kept cluster: fsync and full-page writes stay on
}

// startAttempts bounds retries when another process takes the free port
// between choosing it and the server binding it.
const startAttempts = 3

// Start initialises and starts a cluster. It installs the Debian package
// `postgresql` first when no binaries are found and the process is root.
func Start(ctx context.Context, opts Options) (*Server, error) {
	binDir, err := findBinDir(ctx, opts)
	if err != nil {
		return nil, err
	}
	s := &Server{binDir: binDir}
	if os.Geteuid() == 0 {
		if s.runAs, err = runAsPostgres(); err != nil {
			return nil, err
		}
	}
	s.dir, err = os.MkdirTemp(cmp.Or(opts.TempDir, defaultTempDir()), "pgserver-")
	if err != nil {
		return nil, fmt.Errorf("pgserver: create temp dir: %w", err)
	}
	if err := s.start(ctx); err != nil {
		_ = os.RemoveAll(s.dir)
		return nil, err
	}
	return s, nil
}

func (s *Server) start(ctx context.Context) error {
	if s.runAs != nil {
		if err := s.chown(s.dir); err != nil {
			return err
		}
	}
	data := filepath.Join(s.dir, "data")
	if out, err := s.run(ctx, "initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"); err != nil {
		return fmt.Errorf("pgserver: initdb: %w: %s", err, tail(out, 2000))
	}
	var lastErr error
	for range startAttempts {
		port, err := freePort()
		if err != nil {
			return err
		}
		s.port = port
		if lastErr = s.Resume(ctx); lastErr == nil || !strings.Contains(s.logTail(), "already in use") {
			return lastErr
		}
	}
	return lastErr
}

// Halt stops the server with pg_ctl's shutdown mode ("smart", "fast" or
// "immediate") and keeps its data directory, so that Resume can start it
// again: fault tests take the database away under running work. Halting a
// halted server is a no-op.
func (s *Server) Halt(ctx context.Context, mode string) error {
	if s.halted {
		return nil
	}
	out, err := s.run(ctx, "pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", mode, "-w", "stop")
	if err != nil {
		return fmt.Errorf("pgserver: pg_ctl stop -m %s: %w: %s", mode, err, tail(out, 1000))
	}
	s.halted = true
	return nil
}

// Resume starts the server on its data directory and port (after Halt, the
// same cluster at the same URL; an immediate stop is recovered from the
// write-ahead log as after a crash).
func (s *Server) Resume(ctx context.Context) error {
	serverOpts := fmt.Sprintf("-k %s -p %d -c listen_addresses=127.0.0.1", shellQuote(s.dir), s.port)
	if !s.durable {
		serverOpts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	}
	out, err := s.run(ctx, "pg_ctl", "-D", filepath.Join(s.dir, "data"), "-l", s.logPath(), "-w", "-t", "60", "-o", serverOpts, "start")
	if err != nil {
		return fmt.Errorf("pgserver: pg_ctl start on port %d: %w: %s\nserver log:\n%s", s.port, err, tail(out, 1000), s.logTail())
	}
	s.halted = false
	return nil
}

// URL returns a connection URL for database dbname as the superuser.
func (s *Server) URL(dbname string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, dbname)
}

// CreateDatabase creates an empty database.
func (s *Server) CreateDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return fmt.Errorf("pgserver: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("pgserver: create database %s: %w", name, err)
	}
	return nil
}

// Stop stops the server immediately (no checkpoint: the data is thrown
// away) and removes its directory. Stopping twice is a no-op.
func (s *Server) Stop(ctx context.Context) error {
	if s.stopped {
		return nil
	}
	s.stopped = true
	stopErr := s.Halt(ctx, "immediate")
	if err := os.RemoveAll(s.dir); err != nil {
		return errors.Join(stopErr, fmt.Errorf("pgserver: remove %s: %w", s.dir, err))
	}
	return stopErr
}

func (s *Server) logPath() string { return filepath.Join(s.dir, "server.log") }

func (s *Server) logTail() string {
	b, err := os.ReadFile(s.logPath())
	if err != nil {
		return "(no server log: " + err.Error() + ")"
	}
	return tail(b, 2000)
}

// run runs one of the cluster's binaries, as the postgres user when root.
func (s *Server) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	bin := filepath.Join(s.binDir, name)
	var cmd *exec.Cmd
	if s.runAs != nil {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", s.runAs.Username, "--", bin}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, bin, args...)
	}
	// The caller's working directory may be unreadable for the postgres user.
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	// A safety net: the server that pg_ctl leaves running writes to its log
	// file, but should any child keep our output pipe open, Wait gives up
	// on it after this delay instead of hanging.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	return out.Bytes(), err
}

func (s *Server) chown(path string) error {
	uid, err := strconv.Atoi(s.runAs.Uid)
	if err != nil {
		return fmt.Errorf("pgserver: uid of %s: %w", s.runAs.Username, err)
	}
	gid, err := strconv.Atoi(s.runAs.Gid)
	if err != nil {
		return fmt.Errorf("pgserver: gid of %s: %w", s.runAs.Username, err)
	}
	if err := os.Chown(path, uid, gid); err != nil {
		return fmt.Errorf("pgserver: give %s to %s: %w", path, s.runAs.Username, err)
	}
	return nil
}

// findBinDir locates initdb and pg_ctl, installing PostgreSQL when allowed.
func findBinDir(ctx context.Context, opts Options) (string, error) {
	if opts.BinDir != "" {
		if !hasBinaries(opts.BinDir) {
			return "", fmt.Errorf("pgserver: no initdb and pg_ctl in %s", opts.BinDir)
		}
		return opts.BinDir, nil
	}
	if dir := lookupBinDir(); dir != "" {
		return dir, nil
	}
	if os.Geteuid() != 0 || opts.NoInstall {
		return "", errors.New("pgserver: PostgreSQL binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin or PATH; install the postgresql package (apt-get install postgresql) or set TEST_DATABASE_URL/DATABASE_URL to a running server")
	}
	for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", "postgresql"}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("pgserver: apt-get %s: %w: %s", strings.Join(args, " "), err, tail(out, 2000))
		}
	}
	if dir := lookupBinDir(); dir != "" {
		return dir, nil
	}
	return "", errors.New("pgserver: installed postgresql but still found no initdb/pg_ctl")
}

// lookupBinDir prefers the highest /usr/lib/postgresql/<version>/bin (Debian
// keeps initdb off PATH), then PATH.
func lookupBinDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	type versioned struct {
		dir string
		ver float64
	}
	var found []versioned
	for _, d := range dirs {
		v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(d)), 64)
		if err == nil && hasBinaries(d) {
			found = append(found, versioned{d, v})
		}
	}
	if len(found) > 0 {
		sort.Slice(found, func(i, j int) bool { return found[i].ver > found[j].ver })
		return found[0].dir
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil && hasBinaries(filepath.Dir(real)) {
			return filepath.Dir(real)
		}
		if hasBinaries(filepath.Dir(p)) {
			return filepath.Dir(p)
		}
	}
	return ""
}

func hasBinaries(dir string) bool {
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.IsDir() {
			return false
		}
	}
	return true
}

// defaultTempDir prefers memory-backed /dev/shm.
func defaultTempDir() string {
	const shm = "/dev/shm"
	if st, err := os.Stat(shm); err == nil && st.IsDir() && st.Mode().Perm()&0o002 != 0 {
		return shm
	}
	return os.TempDir()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgserver: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// shellQuote quotes for the shell that pg_ctl starts postgres with.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}
