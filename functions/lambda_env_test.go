package functions_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/pgtest"
	"github.com/designerbff/pipeline/infra/local/s3local"
	"github.com/designerbff/pipeline/infra/local/secretslocal"
	"github.com/designerbff/pipeline/infra/local/sfnlocal"
	"github.com/designerbff/pipeline/infra/local/stack/stacktest"
	"github.com/designerbff/pipeline/infra/sam"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/r2"
	"github.com/designerbff/pipeline/shared/sfn"
	"github.com/designerbff/pipeline/shared/system"
	"github.com/designerbff/pipeline/statemachine"
)

const (
	lambdaStateMachineARN = "arn:aws:states:eu-west-1:123456789012:stateMachine:generation"
	lambdaQueueURL        = "https://sqs.eu-west-1.amazonaws.com/123456789012/feedback"
	lambdaBucket          = "designer-bff-images"
)

// A generation runs end to end through the functions exactly as deployed:
// each function is built by system.FromEnv from environment variables (its
// own System, as each is its own process in AWS) and its handler comes from
// the registry the mains use. The environment points at the test's Postgres,
// the local S3 server as R2, and fakes speaking the Step Functions and SQS
// JSON protocols, reached through the AWS SDK's own endpoint variables. The
// fake Step Functions runs the real definition with each Task resolved to
// its function's handler; the messages SQS took are delivered to the
// learner's handler as an SQS event.
func TestLambdaSetupFromEnvironmentDeliversAGeneration(t *testing.T) {
	// No t.Parallel: the AWS SDK reads its endpoints and credentials from the
	// process environment, so this test sets it.
	ctx := t.Context()
	objects := startObjectStore(t)
	stepFunctions := newFakeStepFunctions(t)
	queue := newFakeSQS(t)
	// The secrets are in (fake) Secrets Manager, each function reading the
	// ones its SECRET_IDS in template.yaml names, so a function missing a
	// secret it needs fails here.
	databaseURL := pgtest.NewURL(t)
	secrets := secretslocal.Start(map[string]string{
		"p/database":  secretslocal.Object(map[string]string{"DATABASE_URL": databaseURL}),
		"p/r2":        secretslocal.Object(map[string]string{"R2_ACCESS_KEY_ID": "local", "R2_SECRET_ACCESS_KEY": "local"}),
		"p/api":       secretslocal.Object(map[string]string{"GENERATION_ID_SECRET": "functions-test-generation-id-secret-0123456789"}),
		"p/openai":    secretslocal.Object(map[string]string{"OPENAI_API_KEY": ""}),
		"p/gemini":    secretslocal.Object(map[string]string{"GEMINI_API_KEY": ""}),
		"p/stability": secretslocal.Object(map[string]string{"STABILITY_API_KEY": ""}),
		"p/replicate": secretslocal.Object(map[string]string{"REPLICATE_API_TOKEN": ""}),
		"p/webhook":   secretslocal.Object(map[string]string{"WEBHOOK_SIGNING_SECRET": "functions-test-webhook-secret"}),
	})
	t.Cleanup(secrets.Close)
	tpl, err := sam.ReadTemplate(filepath.Join(stacktest.Root(t), "template.yaml"))
	require.NoError(t, err)
	for name, value := range map[string]string{
		"R2_ENDPOINT":        objects,
		"R2_BUCKET":          lambdaBucket,
		"R2_USE_PATH_STYLE":  "true",
		"PROVIDER":           "procedural",
		"STATE_MACHINE_ARN":  lambdaStateMachineARN,
		"FEEDBACK_QUEUE_URL": lambdaQueueURL,
		"LOG_LEVEL":          "error",
		// The test's Postgres has no TLS.
		system.AllowUnverifiedTLSEnv:       "true",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": secrets.URL,
		// The AWS SDK: service endpoints, region and static credentials,
		// and no shared files or instance metadata from this machine.
		"AWS_ENDPOINT_URL_SFN":        stepFunctions.URL,
		"AWS_ENDPOINT_URL_SQS":        queue.URL,
		"AWS_REGION":                  "eu-west-1",
		"AWS_ACCESS_KEY_ID":           "test",
		"AWS_SECRET_ACCESS_KEY":       "test",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(name, value)
	}
	t.Cleanup(func() { slog.SetDefault(defaultLogger) }) // FromEnv sets Lambda's logger as the default

	handlers := map[string]any{}
	for _, f := range system.Functions {
		// SECRET_IDS as template.yaml sets it (no vision judge), under SecretPrefix "p".
		ids := dig(tpl.Resources[f.LogicalID].Properties, "Environment", "Variables", system.SecretIDsEnv)
		if alt, ok := dig(ids, "Fn::If").([]any); ok {
			ids = alt[2]
		}
		secretIDs := strings.ReplaceAll(dig(ids, "Fn::Sub").(string), "${SecretPrefix}", "p")
		sys, err := system.FromEnv(ctx, func(k string) string {
			if k == system.SecretIDsEnv {
				return secretIDs
			}
			return os.Getenv(k)
		})
		require.NoError(t, err, f.Name)
		t.Cleanup(sys.Close)
		h, err := sys.Handler(f.Name)
		require.NoError(t, err, f.Name)
		handlers[f.LogicalID] = h
	}
	subs := map[string]string{"MapMaxConcurrency": "4"}
	resources := map[string]sfnlocal.Invoker{}
	for id, h := range handlers {
		arn := "arn:aws:lambda:eu-west-1:123456789012:function:" + id
		subs[id+"Arn"] = arn
		resources[arn] = sfnlocal.LambdaInvoker(h)
	}
	machine, err := sfnlocal.Load(statemachine.Definition, subs, resources)
	require.NoError(t, err)
	stepFunctions.run = machine.Execute

	out, err := stacktest.Invoke(t, handlers["ApiFunction"], stacktest.Event(t, "api", "create-json"))
	require.NoError(t, err)
	var resp events.APIGatewayV2HTTPResponse
	require.NoError(t, json.Unmarshal(out, &resp))
	require.Equal(t, http.StatusAccepted, resp.StatusCode, resp.Body)
	var created struct{ ID string }
	require.NoError(t, json.Unmarshal([]byte(resp.Body), &created))

	_, err = stepFunctions.wait(t, created.ID)
	require.NoError(t, err, "the execution runs to its end")
	batch := queue.receive()
	require.NotEmpty(t, batch.Records, "Deliver published the outcomes to SQS")
	payload, err := json.Marshal(batch)
	require.NoError(t, err)
	out, err = stacktest.Invoke(t, handlers["LearnerFunction"], payload)
	require.NoError(t, err)
	require.Empty(t, failedIDs(t, out), "the learner takes every message")

	db, err := system.OpenPool(ctx, databaseURL, 1)
	require.NoError(t, err)
	t.Cleanup(db.Close)
	var status string
	var requested, delivered, selected, feedback, unfolded int
	require.NoError(t, db.QueryRow(ctx, `SELECT status, requested_count, delivered_count FROM generations WHERE id = $1`, created.ID).Scan(&status, &requested, &delivered))
	require.Equal(t, string(generation.StatusDelivered), status)
	require.Equal(t, 4, requested)
	require.Equal(t, requested, delivered)
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM candidates WHERE generation_id = $1 AND status = 'selected'`, created.ID).Scan(&selected))
	require.Equal(t, delivered, selected)
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE processed_at IS NULL) FROM rlhf_feedback WHERE generation_id = $1`, created.ID).Scan(&feedback, &unfolded))
	require.GreaterOrEqual(t, feedback, len(batch.Records))
	require.Zero(t, unfolded, "the learner folded every outcome")

	client, err := r2.New(r2.Config{Endpoint: objects, Bucket: lambdaBucket, AccessKeyID: "local", SecretAccessKey: "local", UsePathStyle: true})
	require.NoError(t, err)
	listed, err := client.Client().ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(lambdaBucket), Prefix: aws.String("generations/" + created.ID + "/")})
	require.NoError(t, err)
	require.Greater(t, len(listed.Contents), delivered, "the reference image and every stored candidate are in R2")
}

// dig follows map keys through a decoded template value.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

// A deployed function names its provider: the procedural default is local.
func TestLambdaSetupRequiresAnExplicitProvider(t *testing.T) {
	t.Parallel()
	_, err := system.FromEnv(t.Context(), func(k string) string {
		return map[string]string{"DATABASE_URL": "postgres://nowhere/db"}[k]
	})
	require.ErrorContains(t, err, "PROVIDER is not set")
	t.Cleanup(func() { slog.SetDefault(defaultLogger) })
}

// startObjectStore starts the local S3 server with the bucket the deployed
// functions expect to exist.
func startObjectStore(t *testing.T) string {
	t.Helper()
	srv, err := s3local.Start()
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	store, err := r2.New(r2.Config{Endpoint: srv.URL(), Bucket: lambdaBucket, AccessKeyID: "local", SecretAccessKey: "local", UsePathStyle: true})
	require.NoError(t, err)
	require.NoError(t, store.EnsureBucket(t.Context()))
	return srv.URL()
}

// fakeStepFunctions answers StartExecution in the Step Functions JSON
// protocol and runs the execution in the background, once per name.
type fakeStepFunctions struct {
	*httptest.Server
	run func(ctx context.Context, name string, input []byte) ([]byte, error)

	mu   sync.Mutex
	runs map[string]*fakeExecution
}

type fakeExecution struct {
	done   chan struct{}
	output []byte
	err    error
}

func newFakeStepFunctions(t *testing.T) *fakeStepFunctions {
	f := &fakeStepFunctions{runs: map[string]*fakeExecution{}}
	var wg sync.WaitGroup
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		var in struct{ StateMachineArn, Name, Input string }
		if r.Header.Get("X-Amz-Target") != "AWSStepFunctions.StartExecution" || json.NewDecoder(r.Body).Decode(&in) != nil || in.StateMachineArn != lambdaStateMachineARN {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"InvalidArn","message":"unexpected request"}`))
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, ok := f.runs[in.Name]; ok {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"ExecutionAlreadyExists","message":"Execution Already Exists"}`))
			return
		}
		x := &fakeExecution{done: make(chan struct{})}
		f.runs[in.Name] = x
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(x.done)
			x.output, x.err = f.run(context.Background(), in.Name, []byte(in.Input))
		}()
		_ = json.NewEncoder(w).Encode(map[string]any{"executionArn": sfn.ExecutionARN(in.StateMachineArn, in.Name), "startDate": float64(time.Now().Unix())})
	}))
	t.Cleanup(func() { f.Close(); wg.Wait() })
	return f
}

func (f *fakeStepFunctions) wait(t *testing.T, name string) ([]byte, error) {
	t.Helper()
	f.mu.Lock()
	x, ok := f.runs[name]
	f.mu.Unlock()
	require.True(t, ok, "no execution named %s was started", name)
	select {
	case <-x.done:
		return x.output, x.err
	case <-time.After(2 * time.Minute):
		t.Fatalf("execution %s did not end", name)
		return nil, nil
	}
}

// fakeSQS answers SendMessageBatch in the SQS JSON protocol and keeps what
// it took.
type fakeSQS struct {
	*httptest.Server
	mu   sync.Mutex
	sent []events.SQSMessage
}

func newFakeSQS(t *testing.T) *fakeSQS {
	f := &fakeSQS{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		var in struct {
			QueueUrl string
			Entries  []struct{ Id, MessageBody string }
		}
		if r.Header.Get("X-Amz-Target") != "AmazonSQS.SendMessageBatch" || json.NewDecoder(r.Body).Decode(&in) != nil || in.QueueUrl != lambdaQueueURL {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"com.amazonaws.sqs#InvalidParameterValue","message":"unexpected request"}`))
			return
		}
		type success struct{ Id, MessageId, MD5OfMessageBody string }
		var out struct {
			Successful []success
			Failed     []any
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, e := range in.Entries {
			id := generation.NewID()
			sum := md5.Sum([]byte(e.MessageBody))
			out.Successful = append(out.Successful, success{e.Id, id, hex.EncodeToString(sum[:])})
			f.sent = append(f.sent, events.SQSMessage{
				MessageId: id, Body: e.MessageBody, Md5OfBody: hex.EncodeToString(sum[:]), EventSource: "aws:sqs",
				EventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:feedback", AWSRegion: "eu-west-1",
				Attributes: map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": strconv.FormatInt(time.Now().UnixMilli(), 10)},
			})
		}
		out.Failed = []any{}
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(f.Close)
	return f
}

// receive takes every message sent so far as one event source batch.
func (f *fakeSQS) receive() events.SQSEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	ev := events.SQSEvent{Records: f.sent}
	f.sent = nil
	return ev
}

var defaultLogger = slog.Default()
