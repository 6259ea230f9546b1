package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/sqslocal"
	"github.com/designerbff/pipeline/shared/buffer"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/learning"
	"github.com/designerbff/pipeline/shared/stage"
)

// failingPublisher is a feedback queue that is down.
type failingPublisher struct{}

func (failingPublisher) Publish(context.Context, []generation.FeedbackEvent) error {
	return errors.New("sqs: connection refused")
}

// withLearner gives the service the local queue feeding the real learner
// handler over the env's database, and returns the sqslocal.
func withLearner(q **sqslocal.Queue) func(*env) {
	return func(e *env) {
		p := &generation.Pipeline{Store: e.pg, LearningRate: 0.1}
		*q = sqslocal.New(stage.Learner{Pipeline: p}.Handle, sqslocal.Options{})
		e.app.Ratings = *q
	}
}

func feedbackPath(id, image string) string {
	return "/v1/generations/" + id + "/images/" + image + "/feedback"
}

func TestPostFeedbackReachesTheLearner(t *testing.T) {
	t.Parallel()
	var q *sqslocal.Queue
	e := newEnv(t, withLearner(&q))
	id, _, order := e.deliveredGeneration(t, "alice")
	ctx := t.Context()
	// Give the delivered image modifiers, as the plan stage would have.
	_, err := e.pool.Exec(ctx, `UPDATE candidates SET modifiers = '{calm, "night scene"}' WHERE id = $1`, order[0])
	require.NoError(t, err)

	post := func(body string) (int, []byte) {
		rec := e.do(t, request{method: http.MethodPost, path: feedbackPath(id, order[0]), user: "alice",
			contentType: "application/json", body: []byte(body)})
		return rec.Code, rec.Body.Bytes()
	}
	status, body := post(`{"rating": 1, "reasons": ["  Too Dark ", "blurry"]}`)
	require.Equal(t, http.StatusAccepted, status, "%s", body)
	var got struct {
		EventID  string   `json:"eventId"`
		Rating   int      `json:"rating"`
		Reasons  []string `json:"reasons"`
		Polarity string   `json:"polarity"`
		Weight   float64  `json:"weight"`
	}
	require.NoError(t, json.Unmarshal(body, &got))
	require.Equal(t, []string{"too dark", "blurry"}, got.Reasons)
	require.Equal(t, "negative", got.Polarity)
	require.Equal(t, 2.0, got.Weight)

	// A retried POST is the same event: stored once.
	status, body = post(`{"rating": 1, "reasons": ["too dark", "blurry"]}`)
	require.Equal(t, http.StatusAccepted, status, "%s", body)
	stats, err := q.Drain(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, stats.Deleted)
	require.Empty(t, q.DeadLetters())

	var rows int
	var source string
	var negative bool
	var weight float64
	require.NoError(t, e.pool.QueryRow(ctx, `
		SELECT count(*), min(feedback_source), bool_and(is_negative), min(weight)
		FROM rlhf_feedback WHERE candidate_id = $1 AND feedback_type = 'user_rating'`, order[0]).
		Scan(&rows, &source, &negative, &weight))
	require.Equal(t, 1, rows)
	require.Equal(t, "user_action", source)
	require.True(t, negative)
	require.Equal(t, 2.0, weight)
	var failures float64
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT failures FROM attribute_stats WHERE attribute = 'night scene'`).Scan(&failures))
	require.Equal(t, 2.0, failures, "a 1-star rating counts as two failures of each modifier")
}

func TestPostFeedbackRejects(t *testing.T) {
	t.Parallel()
	var q *sqslocal.Queue
	e := newEnv(t, withLearner(&q))
	id, _, order := e.deliveredGeneration(t, "alice")
	good := `{"rating": 4}`
	tests := []struct {
		name        string
		id, image   string
		user        string
		contentType string
		body        string
		status      int
		code, field string
	}{
		{"no identity", id, order[0], "", "application/json", good, http.StatusUnauthorized, generation.EUNAUTHORIZED, ""},
		{"another user's generation", id, order[0], "mallory", "application/json", good, http.StatusNotFound, generation.ENOTFOUND, ""},
		{"unknown generation", generation.NewID(), order[0], "alice", "application/json", good, http.StatusNotFound, generation.ENOTFOUND, ""},
		{"not a uuid", "nope", order[0], "alice", "application/json", good, http.StatusNotFound, generation.ENOTFOUND, ""},
		{"image not delivered", id, order[2], "alice", "application/json", good, http.StatusNotFound, generation.ENOTFOUND, ""},
		{"unknown image", id, generation.NewID(), "alice", "application/json", good, http.StatusNotFound, generation.ENOTFOUND, ""},
		{"rating missing", id, order[0], "alice", "application/json", `{}`, http.StatusBadRequest, generation.EINVALID, "rating"},
		{"rating too high", id, order[0], "alice", "application/json", `{"rating": 6}`, http.StatusBadRequest, generation.EINVALID, "rating"},
		{"rating zero", id, order[0], "alice", "application/json", `{"rating": 0}`, http.StatusBadRequest, generation.EINVALID, "rating"},
		{"rating not a number", id, order[0], "alice", "application/json", `{"rating": "5"}`, http.StatusBadRequest, generation.EINVALID, "rating"},
		{"unknown field", id, order[0], "alice", "application/json", `{"rating": 5, "stars": 5}`, http.StatusBadRequest, generation.EINVALID, "stars"},
		{"empty reason", id, order[0], "alice", "application/json", `{"rating": 2, "reasons": [" "]}`, http.StatusBadRequest, generation.EINVALID, "reasons[0]"},
		{"long reason", id, order[0], "alice", "application/json", `{"rating": 2, "reasons": ["` + strings.Repeat("x", 81) + `"]}`, http.StatusBadRequest, generation.EINVALID, "reasons[0]"},
		{"control character", id, order[0], "alice", "application/json", `{"rating": 2, "reasons": ["a\u0007"]}`, http.StatusBadRequest, generation.EINVALID, "reasons[0]"},
		{"too many reasons", id, order[0], "alice", "application/json", `{"rating": 2, "reasons": ["a","b","c","d","e","f","g","h","i","j","k"]}`, http.StatusBadRequest, generation.EINVALID, "reasons"},
		{"two objects", id, order[0], "alice", "application/json", good + good, http.StatusBadRequest, generation.EINVALID, "body"},
		{"not JSON", id, order[0], "alice", "text/plain", good, http.StatusUnsupportedMediaType, generation.EUNSUPPORTED, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do(t, request{method: http.MethodPost, path: feedbackPath(tt.id, tt.image), user: tt.user,
				contentType: tt.contentType, body: []byte(tt.body)})
			requireError(t, rec.Code, rec.Header(), rec.Body.Bytes(), tt.status, tt.code, tt.field)
		})
	}
	require.Zero(t, q.Len(), "nothing is published for a rejected rating")
}

func TestPostFeedbackQueueDown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		publisher generation.Publisher
	}{
		{"no publisher", nil},
		{"publisher fails", failingPublisher{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(e *env) { e.app.Ratings = tt.publisher })
			id, _, order := e.deliveredGeneration(t, "alice")
			rec := e.do(t, request{method: http.MethodPost, path: feedbackPath(id, order[0]), user: "alice",
				contentType: "application/json", body: []byte(`{"rating": 5}`)})
			requireError(t, rec.Code, rec.Header(), rec.Body.Bytes(), http.StatusServiceUnavailable, generation.EUNAVAILABLE, "")
		})
	}
}

func TestGetLearning(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env) { e.app.LearnerStats = e.pg })
	ctx := t.Context()
	gen := generation.NewID()
	var events []generation.FeedbackEvent
	for i := range 9 {
		passed := i < 5
		e := generation.FeedbackEvent{
			EventID: generation.EventID("learning-test", fmt.Sprint(i)), GenerationID: gen, Provider: "procedural",
			Type: generation.FeedbackSelected, Source: generation.SourceValidationFilter, Passed: &passed, Weight: 1,
			Modifiers: []string{"calm"}, CreatedAt: testNow,
		}
		if !passed {
			e.Type, e.Modifiers, e.Reasons, e.Negative = generation.FeedbackFailed, []string{"night scene"}, []string{"underexposed"}, true
		}
		events = append(events, e)
	}
	_, err := e.store.InsertFeedback(ctx, events)
	require.NoError(t, err)
	_, err = e.store.FoldFeedback(ctx, 0.1)
	require.NoError(t, err)

	rec := e.do(t, request{method: http.MethodGet, path: "/v1/learning/procedural", user: "alice"})
	require.Equal(t, http.StatusOK, rec.Code, "%s", rec.Body)
	var got struct {
		Provider   string `json:"provider"`
		Attributes []struct {
			Attribute    string  `json:"attribute"`
			Group        string  `json:"group"`
			Mean         float64 `json:"mean"`
			Lower, Upper float64
			Samples      int64 `json:"samples"`
		} `json:"attributes"`
		CredibleLevel float64  `json:"credibleLevel"`
		Prior         string   `json:"prior"`
		NegativeTerms []string `json:"negativeTerms"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	require.Equal(t, "procedural", got.Provider)
	catalogSize := 0
	for _, g := range learning.Catalog {
		catalogSize += len(g.Modifiers)
	}
	require.Len(t, got.Attributes, catalogSize, "every catalog modifier is listed")
	first, last := got.Attributes[0], got.Attributes[len(got.Attributes)-1]
	require.Equal(t, "calm", first.Attribute)
	require.Equal(t, "mood", first.Group)
	require.InDelta(t, 5.5/6, first.Mean, 1e-9, "Beta(½+5, ½+0): the planner's prior, PASS_RATE_PRIOR's default")
	require.Equal(t, "Beta(0.5, 0.5)", got.Prior)
	require.EqualValues(t, 5, first.Samples)
	require.Less(t, first.Lower, first.Mean)
	require.Greater(t, first.Upper, first.Mean)
	require.Equal(t, "night scene", last.Attribute)
	require.Equal(t, []string{"underexposed"}, got.NegativeTerms)

	// PASS_RATE_PRIOR reaches the report through the planner.
	e.svc.App.Planner = &buffer.Planner{Prior: buffer.SymmetricPrior(1)}
	rec = e.do(t, request{method: http.MethodGet, path: "/v1/learning/procedural", user: "alice"})
	require.Equal(t, http.StatusOK, rec.Code, "%s", rec.Body)
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	require.InDelta(t, 6.0/7, got.Attributes[0].Mean, 1e-9, "Beta(1+5, 1+0)")
	require.Equal(t, "Beta(1, 1)", got.Prior)

	t.Run("errors", func(t *testing.T) {
		rec := e.do(t, request{method: http.MethodGet, path: "/v1/learning/Not%20A%20Provider", user: "alice"})
		requireError(t, rec.Code, rec.Header(), rec.Body.Bytes(), http.StatusBadRequest, generation.EINVALID, "provider")
		rec = e.do(t, request{method: http.MethodGet, path: "/v1/learning/procedural"})
		requireError(t, rec.Code, rec.Header(), rec.Body.Bytes(), http.StatusUnauthorized, generation.EUNAUTHORIZED, "")
		bare := newEnv(t)
		rec = bare.do(t, request{method: http.MethodGet, path: "/v1/learning/procedural", user: "alice"})
		requireError(t, rec.Code, rec.Header(), rec.Body.Bytes(), http.StatusServiceUnavailable, generation.EUNAVAILABLE, "")
	})
}
