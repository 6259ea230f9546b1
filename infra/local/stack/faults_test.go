package stack_test

// Fault tests: real dependencies taken away under running executions of the
// real state machine. Each one measures time to recovery (t.Logf) and checks
// the rules of issue 11: every generation ends final (delivered, or failed
// with a user-facing reason), no candidate is failed and no feedback row is
// written because of an infrastructure error, an errored candidate keeps no
// object, and a committed delivery is final.

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/pgtest"
	"github.com/designerbff/pipeline/infra/local/s3local"
	"github.com/designerbff/pipeline/infra/local/stack"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/sqs"
)

// retryScale shrinks the definition's Retry waits (IntervalSeconds 2,
// BackoffRate 2, MaxDelaySeconds 30, full jitter) in the fault tests: the
// intervals stay realistic relative to each other and to a 10 s outage,
// the test waits half as long.
const retryScale = 0.5

const (
	outage     = 10 * time.Second
	inFlight   = 5
	recoverMax = 3 * time.Minute
)

// slowProvider is the clean procedural provider taking a little time per
// image, so that the generations are still in flight when the fault hits.
func slowProvider() *scripted {
	return cleanProvider(func(generation.ProviderRequest, int, int) (generation.Image, error, bool) {
		time.Sleep(150 * time.Millisecond)
		return generation.Image{}, nil, false
	})
}

// faultRun is a harness whose interpreter really waits between retries,
// retryScale times the definition's waits.
type faultRun struct{ *harness }

func startFaultStack(t *testing.T, env map[string]string, opts stack.Options) *faultRun {
	t.Helper()
	opts.MapConcurrency = 4
	opts.Sleep = func(ctx context.Context, d time.Duration) error {
		return generation.Sleep(ctx, time.Duration(float64(d)*retryScale))
	}
	return &faultRun{startHarness(t, env, opts)}
}

// start creates n generations through the API; their executions run in the
// background.
func (r *faultRun) start(n int, settings string) []string {
	ids := make([]string, n)
	for i := range ids {
		status, out := r.post(settings)
		require.Equal(r.t, http.StatusAccepted, status, out)
		ids[i] = out["id"].(string)
	}
	return ids
}

// waitAll waits for every execution and returns when the last one ended.
func (r *faultRun) waitAll(ids []string, deadline time.Duration) time.Time {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	for _, id := range ids {
		_, err := r.stack.Starter.Wait(ctx, id)
		require.NotErrorIs(r.t, err, context.DeadlineExceeded, "generation %s still running %s after the fault", id, deadline)
	}
	return time.Now()
}

// requireNoInfrastructureOutcomes checks the generations after a fault.
func (r *faultRun) requireNoInfrastructureOutcomes(ids []string) (delivered, errored int) {
	t, ctx := r.t, context.Background()
	for _, id := range ids {
		g, err := r.stack.Store.Generation(ctx, id)
		require.NoError(t, err)
		require.True(t, g.Status.Final(), "generation %s left %s", id, g.Status)
		switch g.Status {
		case generation.StatusDelivered:
			delivered++
		case generation.StatusFailed:
			requireUserFacing(t, g.Error)
		default:
			t.Fatalf("generation %s ended %s: %s", id, g.Status, g.Error)
		}
		for _, c := range r.candidates(id) {
			require.NotEqual(t, generation.CandidateFailed, c.Status, "candidate %s failed for an infrastructure reason: %s", c.ID, c.FailureReason)
			if c.Status == generation.CandidateErrored {
				errored++
				requireUserFacing(t, c.FailureReason)
				require.Empty(t, r.objectKeys(generation.ObjectKey(id, c.Round, c.Index, "")), "errored candidate %s keeps no object", c.ID)
			}
		}
	}
	require.Zero(t, r.count(`SELECT count(*) FROM rlhf_feedback f JOIN candidates c ON c.id = f.candidate_id WHERE c.status = 'errored'`),
		"no feedback from an infrastructure error")
	require.Zero(t, r.count(`SELECT count(*) FROM rlhf_feedback WHERE feedback_type = 'failed' AND feedback_source = 'generation'`))
	return delivered, errored
}

// requireUserFacing: a stored reason is "<code>: <message>", never the
// engineer's detail.
func requireUserFacing(t *testing.T, reason string) {
	t.Helper()
	code, msg, ok := strings.Cut(reason, ": ")
	require.True(t, ok && code != "" && msg != "", "reason %q", reason)
	for _, detail := range []string{"EOF", "InternalError", "DependencyUnavailable", "SQLSTATE", "dial tcp", "errorMessage"} {
		require.NotContains(t, reason, detail)
	}
}

func TestFaultPostgresStopped(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"fast", "immediate"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			provider := slowProvider()
			r := startFaultStack(t, nil, stack.Options{Providers: map[string]generation.Provider{"procedural": provider}})
			require.NotNil(t, r.stack.Postgres)
			// The throwaway cluster commits asynchronously for speed (a
			// server option); an immediate stop would lose acknowledged
			// commits, which no production server does. Commit as
			// production does: a database setting, for new sessions.
			_, err := r.stack.Pool.Exec(context.Background(), `ALTER DATABASE postgres SET synchronous_commit = on`)
			require.NoError(t, err)
			r.stack.Pool.Reset()
			ids := r.start(inFlight, `{"count": 2, "bufferPercent": 50, "width": 256, "height": 256}`)
			require.Eventually(t, func() bool { return provider.Total() >= 3 }, time.Minute, 10*time.Millisecond)

			ctx := context.Background()
			require.NoError(t, r.stack.Postgres.Halt(ctx, mode))
			time.Sleep(outage)
			require.NoError(t, r.stack.Postgres.Resume(ctx))
			restarted := time.Now()

			done := r.waitAll(ids, recoverMax)
			delivered, errored := r.requireNoInfrastructureOutcomes(ids)
			require.Positive(t, r.retries("DependencyUnavailable"), "the outage hit running work")
			t.Logf("postgres stop -m %s for %s: %d/%d delivered, %d candidates errored (replaced), %d DependencyUnavailable retries, all final %.1fs after the restart",
				mode, outage, delivered, len(ids), errored, r.retries("DependencyUnavailable"), done.Sub(restarted).Seconds())
		})
	}
}

// proxy is a TCP proxy a test can cut: while cut it refuses connections
// (its port is closed) and drops the open ones.
type proxy struct {
	addr, target string
	mu           sync.Mutex
	l            net.Listener
	conns        map[net.Conn]bool
}

func startProxy(t *testing.T, target string) *proxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{addr: l.Addr().String(), target: target, conns: map[net.Conn]bool{}}
	p.serve(l)
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) serve(l net.Listener) {
	p.l = l
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.pipe(c)
		}
	}()
}

func (p *proxy) pipe(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	go func() { _, _ = io.Copy(up, c); up.Close() }()
	_, _ = io.Copy(c, up)
	c.Close()
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.l != nil {
		p.l.Close()
		p.l = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

func (p *proxy) restore(t *testing.T) {
	l, err := net.Listen("tcp", p.addr)
	require.NoError(t, err)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.serve(l)
}

func TestFaultObjectStoreUnreachable(t *testing.T) {
	t.Parallel()
	s3, err := s3local.Start()
	require.NoError(t, err)
	t.Cleanup(func() { _ = s3.Close() })
	px := startProxy(t, strings.TrimPrefix(s3.URL(), "http://"))
	provider := slowProvider()
	env := map[string]string{"R2_ENDPOINT": "http://" + px.addr, "R2_ACCESS_KEY_ID": "local", "R2_SECRET_ACCESS_KEY": "local", "R2_USE_PATH_STYLE": "true"}
	r := startFaultStack(t, env, stack.Options{DatabaseURL: pgtest.NewURL(t),
		Providers: map[string]generation.Provider{"procedural": provider}})
	require.NoError(t, r.stack.Objects.EnsureBucket(context.Background()))
	ids := r.start(inFlight, `{"count": 2, "bufferPercent": 50, "width": 256, "height": 256}`)
	require.Eventually(t, func() bool { return provider.Total() >= 3 }, time.Minute, 10*time.Millisecond)

	px.cut()
	cut := time.Now()
	// The outage lasts at least until running work has met it: on a busy
	// machine the generations may be between S3 calls for a while.
	require.Eventually(t, func() bool { return r.retries("DependencyUnavailable") > 0 }, recoverMax, 10*time.Millisecond,
		"no S3 call met the outage")
	time.Sleep(time.Until(cut.Add(outage)))
	px.restore(t)
	restored := time.Now()

	done := r.waitAll(ids, recoverMax)
	delivered, errored := r.requireNoInfrastructureOutcomes(ids)
	t.Logf("object store unreachable for %s: %d/%d delivered, %d candidates errored (replaced), %d DependencyUnavailable retries, all final %.1fs after it came back",
		outage, delivered, len(ids), errored, r.retries("DependencyUnavailable"), done.Sub(restored).Seconds())
}

// fakeSQS answers SendMessageBatch in the SQS JSON protocol: refusing
// every call with status/code, or accepting entries whose body SQS would
// accept (it refuses U+FFFE and U+FFFF, as SQS does).
type fakeSQS struct {
	status int
	code   string
	mu     sync.Mutex
	sent   int
}

func (f *fakeSQS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	if f.status != 0 {
		w.WriteHeader(f.status)
		_, _ = w.Write([]byte(`{"__type":"com.amazonaws.sqs#` + f.code + `","message":"refused by the test"}`))
		return
	}
	var in struct {
		Entries []struct{ Id, MessageBody string }
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	type entry struct{ Id, MessageId, MD5OfMessageBody string }
	var out struct{ Successful []entry }
	for _, e := range in.Entries {
		if strings.ContainsAny(e.MessageBody, "\uFFFE\uFFFF") {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"com.amazonaws.sqs#InvalidMessageContents","message":"Invalid characters found."}`))
			return
		}
		out.Successful = append(out.Successful, entry{Id: e.Id, MessageId: generation.NewID(), MD5OfMessageBody: md5Hex(e.MessageBody)})
	}
	f.mu.Lock()
	f.sent += len(in.Entries)
	f.mu.Unlock()
	_ = json.NewEncoder(w).Encode(out)
}

func TestFaultQueueAtDeliver(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		fake        *fakeSQS
		unreachable bool
		reason      string // a provider's filter text on the first candidate
		wantSent    bool
	}{
		{name: "refused (AccessDenied)", fake: &fakeSQS{status: http.StatusForbidden, code: "AccessDenied"}},
		{name: "throttled", fake: &fakeSQS{status: http.StatusBadRequest, code: "ThrottlingException"}},
		{name: "unreachable", fake: &fakeSQS{}, unreachable: true},
		// The API refuses U+FFFE in a prompt; a provider's own text (here its
		// filter reason, which reaches the feedback events) is not ours to refuse.
		{name: "a provider reason with U+FFFE is sent", fake: &fakeSQS{}, reason: "blocked \uFFFE by policy", wantSent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tt.fake)
			url := srv.URL
			if tt.unreachable {
				srv.Close()
			} else {
				t.Cleanup(srv.Close)
			}
			client := awssqs.New(awssqs.Options{
				BaseEndpoint: aws.String(url), Region: "us-east-1", RetryMaxAttempts: 1,
				Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
			})
			pub := sqs.NewPublisher(client, "https://sqs.us-east-1.amazonaws.com/000000000000/feedback")
			pub.Backoff = func(int) time.Duration { return 0 }
			provider := cleanProvider(func(_ generation.ProviderRequest, _, call int) (generation.Image, error, bool) {
				if tt.reason == "" || call != 1 {
					return generation.Image{}, nil, false
				}
				return generation.Image{}, &generation.ProviderError{Kind: generation.ProviderFiltered, Provider: "procedural", Reason: tt.reason}, true
			})
			r := startFaultStack(t, nil, stack.Options{DatabaseURL: pgtest.NewURL(t), Publisher: pub,
				Providers: map[string]generation.Provider{"procedural": provider}})
			settings := `{"count": 2, "bufferPercent": 50, "width": 256, "height": 256}`
			id := r.start(1, settings)[0]
			_, err := r.stack.Starter.Wait(context.Background(), id)
			require.NoError(t, err, "the execution succeeds: a committed delivery is final")
			g, err := r.stack.Store.Generation(context.Background(), id)
			require.NoError(t, err)
			require.Equal(t, generation.StatusDelivered, g.Status)
			const rows = `SELECT count(*) FROM rlhf_feedback WHERE generation_id = $1 AND feedback_source <> 'validation_trigger'`
			require.Equal(t, g.PlannedCount, r.count(rows, id), "the outbox rows are stored with the delivery")
			tt.fake.mu.Lock()
			sent := tt.fake.sent
			tt.fake.mu.Unlock()
			if tt.wantSent {
				require.Equal(t, g.PlannedCount, sent)
			} else {
				require.Zero(t, sent)
			}
			_, err = r.stack.Pipeline.Recalibrate(context.Background())
			require.NoError(t, err)
			require.Zero(t, r.count(rows+` AND processed_at IS NULL`, id), "Recalibrate folds what the queue never carried")
		})
	}
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
