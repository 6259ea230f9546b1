package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/httpapi"
)

// storePublisher delivers feedback straight to the store, as the local
// queue's learner would.
type storePublisher struct{ store generation.Store }

func (p storePublisher) Publish(ctx context.Context, events []generation.FeedbackEvent) error {
	_, err := p.store.InsertFeedback(ctx, events)
	return err
}

// operatorEnv is an env whose operators are the local user "operator" and,
// in AWS, the JWT group "operators"; one passed-but-flagged image awaits
// review.
func operatorEnv(t *testing.T) (*env, string) {
	t.Helper()
	e := newEnv(t, func(e *env) {
		e.app.Monitoring = e.pg
		e.app.Ratings = storePublisher{e.pg}
		e.svc.Operators = httpapi.Operators{UserIDs: []string{"operator"}, Group: "operators"}
	})
	const image = "a2000000-0000-0000-0000-000000000000"
	_, err := e.pool.Exec(t.Context(), `
		INSERT INTO generations (id, user_id, status, requested_count, provider, model, delivered_count, completed_at)
		VALUES ('a0000000-0000-0000-0000-000000000000', 'alice', 'delivered', 1, 'procedural', 'procedural-v1', 1, now());
		INSERT INTO candidates (id, generation_id, round, index, provider, model, prompt, modifiers, seed, status, object_key, rank)
		VALUES ('`+image+`', 'a0000000-0000-0000-0000-000000000000', 1, 0, 'procedural', 'procedural-v1', 'p',
		        '{studio}', 1, 'selected', 'k/a2.png', 1);
		INSERT INTO validation_results (candidate_id, validator_version, score, passed, flagged)
		VALUES ('`+image+`', '`+validatorVersion+`', 72, true, true);`)
	require.NoError(t, err)
	return e, image
}

func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	var out struct {
		Error struct{ Code, Field string } `json:"error"`
	}
	require.NoError(t, json.Unmarshal(body, &out), string(body))
	return out.Error.Code
}

func TestOperatorRoutesAreForOperatorsOnly(t *testing.T) {
	e, image := operatorEnv(t)
	for _, r := range []request{
		{method: http.MethodGet, path: "/dashboard"},
		{method: http.MethodGet, path: "/v1/monitoring/summary"},
		{method: http.MethodGet, path: "/v1/reviews"},
		{method: http.MethodPost, path: "/v1/reviews/" + image, contentType: "application/json", body: []byte(`{"decision":"approve"}`)},
	} {
		rec := e.do(t, r)
		require.Equal(t, http.StatusUnauthorized, rec.Code, r.path)
		r.user = "alice"
		rec = e.do(t, r)
		require.Equal(t, http.StatusForbidden, rec.Code, r.path)
		require.Equal(t, "forbidden", errorCode(t, rec.Body.Bytes()), r.path)
	}
	// Nothing reached the learner.
	var n int
	require.NoError(t, e.pool.QueryRow(t.Context(), "SELECT count(*) FROM rlhf_feedback WHERE feedback_type = 'operator_review'").Scan(&n))
	require.Zero(t, n)

	rec := e.do(t, request{method: http.MethodGet, path: "/dashboard", user: "operator"})
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
	require.Contains(t, rec.Body.String(), "/v1/monitoring/")
	require.NotContains(t, rec.Body.String(), "https://", "the page loads nothing from elsewhere")

	rec = e.do(t, request{method: http.MethodGet, path: "/v1/monitoring/nope", user: "operator"})
	require.Equal(t, http.StatusNotFound, rec.Code)
	require.Equal(t, generation.ENOTFOUND, errorCode(t, rec.Body.Bytes()))

	for _, section := range generation.MonitoringSections {
		rec = e.do(t, request{method: http.MethodGet, path: "/v1/monitoring/" + section, user: "operator"})
		require.Equal(t, http.StatusOK, rec.Code, section)
		var sec generation.MonitoringSection
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &sec))
		require.Equal(t, section, sec.Name)
		require.NotEmpty(t, sec.Tables, section)
	}
}

func TestOperatorsInAWSAreAJWTGroup(t *testing.T) {
	e, _ := operatorEnv(t)
	event := func(claims map[string]string) events.APIGatewayV2HTTPRequest {
		return events.APIGatewayV2HTTPRequest{
			RawPath: "/v1/monitoring/alerts",
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: http.MethodGet},
				Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
					JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
				},
			},
		}
	}
	for _, c := range []struct {
		claims map[string]string
		status int
	}{
		{map[string]string{"sub": "u1", "cognito:groups": "[admins operators]"}, http.StatusOK},
		{map[string]string{"sub": "u2", "groups": "operators"}, http.StatusOK},
		{map[string]string{"sub": "u3", "roles": "viewer,operators"}, http.StatusOK},
		{map[string]string{"sub": "u4", "cognito:groups": "[operators-lite]"}, http.StatusForbidden},
		// The local list of user ids never admits anyone in AWS.
		{map[string]string{"sub": "operator"}, http.StatusForbidden},
		{map[string]string{}, http.StatusUnauthorized},
	} {
		resp, err := e.svc.HandleAPIGateway(t.Context(), event(c.claims))
		require.NoError(t, err)
		require.Equal(t, c.status, resp.StatusCode, "%v: %s", c.claims, resp.Body)
	}
	// The page itself goes through API Gateway as text.
	page := event(map[string]string{"sub": "u1", "cognito:groups": "[operators]"})
	page.RawPath = "/dashboard"
	resp, err := e.svc.HandleAPIGateway(t.Context(), page)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/html; charset=utf-8", resp.Headers["Content-Type"])
	require.False(t, resp.IsBase64Encoded)
	require.Contains(t, resp.Body, "<title>")
}

func TestReviewQueueAndReview(t *testing.T) {
	e, image := operatorEnv(t)
	var queue struct {
		Images []generation.ReviewItem `json:"images"`
	}
	rec := e.do(t, request{method: http.MethodGet, path: "/v1/reviews", user: "operator"})
	require.Equal(t, http.StatusOK, rec.Code)
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &queue))
	require.Len(t, queue.Images, 1)
	require.Equal(t, image, queue.Images[0].CandidateID)
	require.Equal(t, "borderline score", queue.Images[0].Why)
	require.Contains(t, queue.Images[0].URL, "k/a2.png")

	post := func(id, body string) *http.Response {
		rec := e.do(t, request{method: http.MethodPost, path: "/v1/reviews/" + id, user: "operator",
			contentType: "application/json", body: []byte(body)})
		return rec.Result()
	}
	resp := post(image, `{"decision":"maybe"}`)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp = post(image, `{"decision":"approve","extra":1}`)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp = post("b0000000-0000-0000-0000-000000000000", `{"decision":"approve"}`)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	resp = post(image, `{"decision":"reject"}`)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	var out struct {
		Polarity string
		Weight   float64
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.Equal(t, "negative", out.Polarity)
	require.Equal(t, 3.0, out.Weight)

	rec = e.do(t, request{method: http.MethodGet, path: "/v1/reviews", user: "operator"})
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &queue))
	require.Empty(t, queue.Images)
	var stored struct {
		Negative bool
		Operator string
	}
	require.NoError(t, e.pool.QueryRow(t.Context(), `
		SELECT is_negative, metadata->>'operatorId' FROM rlhf_feedback WHERE feedback_type = 'operator_review'`).
		Scan(&stored.Negative, &stored.Operator))
	require.Equal(t, struct {
		Negative bool
		Operator string
	}{true, "operator"}, stored)
}
