package functions_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/pgtest"
	"github.com/designerbff/pipeline/infra/local/stack"
	"github.com/designerbff/pipeline/infra/local/stack/stacktest"
	"github.com/designerbff/pipeline/shared/app"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/stage"
	"github.com/designerbff/pipeline/shared/system"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// fixture is one function's handler, as the registry builds it, over a local
// stack with the events' fixtures seeded.
type fixture struct {
	t       *testing.T
	stack   *stack.Stack
	fn      string
	handler any
	used    map[string]bool // the events/<fn>/*.json the check invoked
}

// event invokes the handler on events/<fn>/<name>.json.
func (f *fixture) event(name string) ([]byte, error) {
	f.used[name] = true
	return f.invoke(stacktest.Event(f.t, f.fn, name))
}

// invoke runs the handler on any payload, through Lambda's JSON round trip.
func (f *fixture) invoke(payload []byte) ([]byte, error) {
	return stacktest.Invoke(f.t, f.handler, payload)
}

// generateAndValidate runs every candidate of the fixture generation through
// the pipeline, so that a later stage has verdicts to work on.
func (f *fixture) generateAndValidate(ids ...string) {
	ctx := context.Background()
	for _, id := range ids {
		_, err := f.stack.Pipeline.Generate(ctx, id)
		require.NoError(f.t, err)
		_, err = f.stack.Pipeline.Validate(ctx, id)
		require.NoError(f.t, err)
	}
}

func decode[T any](t *testing.T, out []byte) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(out, &v))
	return v
}

// output runs the handler on a sample event that must succeed and decodes
// its output.
func output[T any](f *fixture, event string) T {
	f.t.Helper()
	out, err := f.event(event)
	require.NoError(f.t, err, event)
	return decode[T](f.t, out)
}

// sampleEventChecks hold, per function of system.Functions, what its handler
// must do on each of its sample events.
var sampleEventChecks = map[string]func(f *fixture){
	"api": func(f *fixture) {
		t, s := f.t, f.stack
		var created []string
		for _, tt := range []struct {
			event  string
			status int
		}{
			{"create-json", 202},
			{"create-json", 202}, // the Idempotency-Key makes a retry the same generation
			{"create-multipart", 202},
			{"get", 200},
		} {
			out, err := f.event(tt.event)
			require.NoError(t, err, tt.event)
			resp := decode[events.APIGatewayV2HTTPResponse](t, out)
			require.Equal(t, tt.status, resp.StatusCode, "%s: %s", tt.event, resp.Body)
			require.Contains(t, resp.Headers["Content-Type"], "application/json")
			body := decode[struct{ ID string }](t, []byte(resp.Body))
			if tt.event == "get" {
				require.Equal(t, stack.FixtureGenerationID, body.ID)
			} else {
				created = append(created, body.ID)
			}
		}
		require.Equal(t, app.IdempotentID([]byte(sampleIDSecret), "auth0|65f1c0de2a7b4c0012345678", "web-7d1f2c9a-order-42"), created[0],
			"the id derives from the user and the key under the secret")
		require.Equal(t, created[0], created[1])
		require.NotEqual(t, created[0], created[2])
		for _, id := range []string{created[0], created[2]} {
			_, err := s.Starter.Wait(context.Background(), id)
			require.NoError(t, err, "the started execution runs the real state machine")
			g, err := s.Store.Generation(context.Background(), id)
			require.NoError(t, err)
			require.Equal(t, stack.FixtureUserID, g.UserID)
			require.True(t, g.Status.Final(), g.Status)
		}

		// In AWS only the JWT authorizer names the user: a bearer token
		// alone, which the local API would take as the user, is no identity.
		var get events.APIGatewayV2HTTPRequest
		require.NoError(t, json.Unmarshal(stacktest.Event(t, "api", "get"), &get))
		get.RequestContext.Authorizer = nil
		get.Headers["authorization"] = "Bearer " + stack.FixtureUserID
		payload, err := json.Marshal(get)
		require.NoError(t, err)
		out, err := f.invoke(payload)
		require.NoError(t, err)
		require.Equal(t, 401, decode[events.APIGatewayV2HTTPResponse](t, out).StatusCode)
	},
	"plan": func(f *fixture) {
		t := f.t
		round1 := output[stage.PlanOutput](f, "round1")
		require.Equal(t, stack.FixtureGenerationID, round1.GenerationID)
		require.Len(t, round1.CandidateIDs, 3, "re-planning round 1 returns its 3 candidates (2 + 50 %%)")
		require.Contains(t, round1.CandidateIDs, stack.FixtureCandidateID)

		topUp := output[stage.PlanOutput](f, "topup")
		require.Equal(t, 2, topUp.Round)
		require.Equal(t, 2, topUp.Needed, "nothing has passed yet")
		require.Len(t, topUp.CandidateIDs, 3)

		_, err := f.invoke([]byte(`{"generationId": "not-a-uuid", "round": 1}`))
		require.ErrorAs(t, err, new(*stage.InvalidRequest))
	},
	"generate": func(f *fixture) {
		t := f.t
		got := output[stage.GenerateOutput](f, "candidate")
		require.Equal(t, stack.FixtureCandidateID, got.CandidateID)
		require.True(t, got.Stored)
		require.Equal(t, "stored", got.Status)

		_, err := f.invoke([]byte(`{"generationId": "` + stack.FixtureGenerationID + `", "candidateId": "00000000-0000-4000-8000-000000000000"}`))
		require.ErrorAs(t, err, new(*stage.NotFound))
	},
	"validate": func(f *fixture) {
		t, s := f.t, f.stack
		_, err := f.event("candidate")
		require.ErrorAs(t, err, new(*stage.Conflict), "a candidate with no image yet cannot be validated")

		_, err = s.Pipeline.Generate(context.Background(), stack.FixtureCandidateID)
		require.NoError(t, err)
		got := output[stage.ValidateOutput](f, "candidate")
		require.Equal(t, stack.FixtureCandidateID, got.CandidateID)
		c, err := s.Store.Candidate(context.Background(), stack.FixtureCandidateID, s.Pipeline.Validator.Version())
		require.NoError(t, err)
		require.NotNil(t, c.Verdict, "the verdict is stored under the validator's version")
		require.Equal(t, c.Verdict.Score, got.Score)
		require.Equal(t, c.Verdict.Passed, got.Passed)

		again := output[stage.ValidateOutput](f, "candidate")
		require.Equal(t, got, again, "a retried validation returns the stored verdict")
	},
	"select": func(f *fixture) {
		t := f.t
		got := output[stage.SelectOutput](f, "round")
		require.Equal(t, stack.FixtureGenerationID, got.GenerationID)
		require.Equal(t, 0, got.Passed)
		require.Equal(t, 2, got.Shortfall)
		require.True(t, got.TopUp)
		require.Equal(t, 2, got.NextRound)
	},
	"deliver": func(f *fixture) {
		t, s := f.t, f.stack
		cands, err := s.Store.Candidates(context.Background(), stack.FixtureGenerationID, "")
		require.NoError(t, err)
		for _, c := range cands {
			f.generateAndValidate(c.ID)
		}
		got := output[stage.DeliverOutput](f, "generation")
		require.Equal(t, stack.FixtureGenerationID, got.GenerationID)
		require.Equal(t, 2, got.Requested)
		require.Equal(t, 2, got.Delivered, "3 candidates, 2 requested; below-threshold ones fill when not strict")
		require.Equal(t, 3, s.Queue.Len(), "one feedback event per candidate is queued for the learner")
	},
	"markfailed": func(f *fixture) {
		t, s := f.t, f.stack
		ctx := context.Background()
		got := output[stage.MarkFailedOutput](f, "candidate")
		require.Equal(t, stack.FixtureFailedCandidateID, got.CandidateID)
		c, err := s.Store.Candidate(ctx, stack.FixtureFailedCandidateID, "")
		require.NoError(t, err)
		require.Equal(t, generation.CandidateErrored, c.Status, "a caught error is no outcome")
		require.Equal(t, got.Reason, c.FailureReason)
		require.True(t, strings.HasPrefix(c.FailureReason, "provider_unavailable: "), c.FailureReason)
		require.NotContains(t, c.FailureReason, "render timed out", "the detail goes to the log, not to the user")

		_, err = f.event("generation")
		require.NoError(t, err)
		g, err := s.Store.Generation(ctx, stack.FixtureGenerationID)
		require.NoError(t, err)
		require.Equal(t, generation.StatusFailed, g.Status)
		require.True(t, strings.HasPrefix(g.Error, "dependency_unavailable: "), g.Error)
		require.NotContains(t, g.Error, "10.0.12.7", "the detail goes to the log, not to the user")
		require.NotNil(t, g.CompletedAt)
	},
	"learner": func(f *fixture) {
		t := f.t
		out, err := f.event("batch")
		require.NoError(t, err)
		require.Equal(t, []string{"238b5fc7-327e-4609-b85a-bed52afdafc9"}, failedIDs(t, out), "only the malformed message is reported")

		out, err = f.event("poison")
		require.NoError(t, err)
		require.Equal(t, []string{"eb6b4ad5-8840-4243-9953-35abfb6cd5e2"}, failedIDs(t, out))
	},
	"recalibrate": func(f *fixture) {
		t, s := f.t, f.stack
		f.generateAndValidate(stack.FixtureCandidateID)
		require.NoError(t, s.Store.SaveGenerated(context.Background(), generation.Candidate{
			ID: stack.FixtureFailedCandidateID, Status: generation.CandidateFailed, FailureReason: "invalid_request: prompt refused"}))
		for range 2 { // idempotent: the second run recomputes the same numbers
			got := output[stage.RecalibrateOutput](f, "schedule")
			require.Equal(t, 1, got.Providers)
			require.Equal(t, 2, got.Samples, "the validated and the failed candidate; the planned one has no outcome yet")
			require.Zero(t, got.Swept, "a generation that moved recently is left alone")
		}
		// No progress for longer than any execution may run (a start that
		// failed and was never retried): the schedule finalises it.
		ctx := context.Background()
		for _, q := range []string{
			`ALTER TABLE generations DISABLE TRIGGER generations_set_updated_at`,
			`UPDATE generations SET updated_at = now() - interval '2 hours'`,
			`ALTER TABLE generations ENABLE TRIGGER generations_set_updated_at`,
		} {
			_, err := s.Pool.Exec(ctx, q)
			require.NoError(t, err)
		}
		require.Equal(t, 1, output[stage.RecalibrateOutput](f, "schedule").Swept)
		g, err := s.Store.Generation(ctx, stack.FixtureGenerationID)
		require.NoError(t, err)
		require.Equal(t, generation.StatusFailed, g.Status)
		require.Equal(t, generation.EndReason(generation.ReasonStalled), g.Error)
	},
	"executionstatus": func(f *fixture) {
		t, s := f.t, f.stack
		ctx := context.Background()
		load := func() generation.Generation {
			g, err := s.Store.Generation(ctx, stack.FixtureGenerationID)
			require.NoError(t, err)
			return g
		}
		reopen := func() { // the fixture generation unfinished again, for the next event
			_, err := s.Pool.Exec(ctx, `UPDATE generations SET status = 'generating', error = NULL, completed_at = NULL WHERE id = $1`, stack.FixtureGenerationID)
			require.NoError(t, err)
		}
		for _, tt := range []struct{ event, reason string }{
			{"timed-out", "timed_out: the generation did not finish within its time limit"},
			{"aborted", "aborted: the generation was stopped before it finished"},
		} {
			got := output[generation.Settlement](f, tt.event)
			require.Equal(t, "finalised", got.Action, tt.event)
			g := load()
			require.Equal(t, generation.StatusFailed, g.Status)
			require.Equal(t, tt.reason, g.Error, "a stored code and message, never the raw error")
			require.NotNil(t, g.CompletedAt)
			again := output[generation.Settlement](f, tt.event)
			require.Equal(t, "none", again.Action, "a redelivered event changes nothing")
			reopen()
		}

		// FAILED on DependencyUnavailable: an outage outlasted the retries,
		// so the next attempt runs (locally: the real state machine) and
		// delivers; the same event again starts nothing more.
		got := output[generation.Settlement](f, "failed")
		require.Equal(t, generation.Settlement{Action: "restarted", Attempt: 2}, got)
		_, err := s.Starter.Wait(ctx, stack.FixtureGenerationID)
		require.NoError(t, err)
		require.True(t, load().Status.Final())
		require.Equal(t, "none", output[generation.Settlement](f, "failed").Action)

		// The last attempt failing transiently finalises instead.
		reopen()
		ev, err := stack.ExecutionStatusEvent(generation.ExecutionName(stack.FixtureGenerationID, generation.MaxExecutionAttempts),
			generation.ExecutionFailed, "DependencyUnavailable", "database unavailable", time.Now())
		require.NoError(t, err)
		out, err := f.invoke(ev)
		require.NoError(t, err)
		require.Equal(t, "finalised", decode[generation.Settlement](t, out).Action)
		require.Equal(t, generation.EndReason(generation.ReasonUnavailable), load().Error)
	},
}

func failedIDs(t *testing.T, out []byte) []string {
	t.Helper()
	ids := []string{}
	for _, f := range decode[events.SQSEventResponse](t, out).BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

// sampleIDSecret is GENERATION_ID_SECRET of the sample events' API function.
const sampleIDSecret = "sample-events-generation-id-secret-0123456789"

// Every function's handler, built by the registry the mains use, handles
// every one of its sample events in events/<function>/ as it should.
func TestSampleEvents(t *testing.T) {
	t.Parallel()
	names := []string{}
	for _, fn := range system.Functions {
		names = append(names, fn.Name)
		t.Run(fn.Name, func(t *testing.T) {
			t.Parallel()
			check, ok := sampleEventChecks[fn.Name]
			require.True(t, ok, "no sample-event check for function %s", fn.Name)
			s := stacktest.New(t)
			s.System.GenerationIDSecret = sampleIDSecret // as the template sets it on the API function
			h, err := fn.Handler(s.System)
			require.NoError(t, err)
			f := &fixture{t: t, stack: s, fn: fn.Name, handler: h, used: map[string]bool{}}
			check(f)

			files, err := filepath.Glob(filepath.Join(stacktest.Root(t), "events", fn.Name, "*.json"))
			require.NoError(t, err)
			require.NotEmpty(t, files, "events/%s has no sample event", fn.Name)
			for _, file := range files {
				name := strings.TrimSuffix(filepath.Base(file), ".json")
				require.True(t, f.used[name], "the check of %s never invokes events/%s/%s.json", fn.Name, fn.Name, name)
			}
		})
	}
	for name := range sampleEventChecks {
		require.True(t, slices.Contains(names, name), "a check for %s, which system.Functions does not have", name)
	}
}
