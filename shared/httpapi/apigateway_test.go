package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/app"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/httpapi"
)

// The JWT subject of the fixtures; their Authorization header says "mallory".
const fixtureSubject = "6b2d7e1a-94c3-4f0e-8d5b-2a7c9e1f3b40"

func loadEvent(t *testing.T, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	var ev events.APIGatewayV2HTTPRequest
	require.NoError(t, json.Unmarshal(data, &ev))
	return ev
}

// fromImageEvent is the fixture with a real multipart body, base64 encoded
// as API Gateway sends binary bodies.
func fromImageEvent(t *testing.T, img []byte) events.APIGatewayV2HTTPRequest {
	t.Helper()
	ev := loadEvent(t, "apigw-v2-from-image.json")
	body, ct := formBody(t,
		part{name: "image", filename: "look.png", data: img},
		part{name: "settings", data: []byte(`{"count": 5, "targetConfidence": 0.97}`)},
		part{name: "userId", data: []byte("mallory")},
	)
	ev.Headers["content-type"] = ct
	ev.Headers["content-length"] = strconv.Itoa(len(body))
	ev.Body = base64.StdEncoding.EncodeToString(body)
	ev.IsBase64Encoded = true
	return ev
}

func getEvent(t *testing.T, id string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	ev := loadEvent(t, "apigw-v2-get-generation.json")
	ev.RawPath = "/v1/generations/" + id
	ev.RequestContext.HTTP.Path = ev.RawPath
	ev.PathParameters = map[string]string{"id": id}
	return ev
}

// respHeader reads an API Gateway response header case-insensitively.
func respHeader(resp events.APIGatewayV2HTTPResponse) http.Header {
	h := http.Header{}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	return h
}

func TestHandleAPIGatewayCreateAndRead(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // LocalAuth is on: the adapter must still ignore Authorization
	img := pngImage(t, 40, 24, 77)

	resp, err := e.svc.HandleAPIGateway(t.Context(), fromImageEvent(t, img))
	require.NoError(t, err)
	require.False(t, resp.IsBase64Encoded, "JSON goes as text")
	c := requireCreated(t, resp.StatusCode, respHeader(resp), []byte(resp.Body))
	require.Equal(t, 5, c.RequestedCount)

	g, err := e.store.Generation(t.Context(), c.ID)
	require.NoError(t, err)
	require.Equal(t, fixtureSubject, g.UserID, "the JWT sub is the user, not the Authorization header or the userId field")
	require.Equal(t, app.IdempotentID([]byte(testIDSecret), fixtureSubject, "upload-7f3a"), g.ID)
	require.Equal(t, "upload-7f3a", g.IdempotencyKey)
	require.InDelta(t, 0.97, g.TargetConfidence, 1e-9)
	stored, err := e.objects.Get(t.Context(), g.ReferenceKey)
	require.NoError(t, err)
	require.Equal(t, img, stored)

	// API Gateway retries with the same key: same generation, no new start.
	resp, err = e.svc.HandleAPIGateway(t.Context(), fromImageEvent(t, img))
	require.NoError(t, err)
	require.Equal(t, c.ID, requireCreated(t, resp.StatusCode, respHeader(resp), []byte(resp.Body)).ID)
	require.Equal(t, []string{c.ID}, e.starter.started())
	require.Equal(t, 1, e.generationCount(t))

	resp, err = e.svc.HandleAPIGateway(t.Context(), getEvent(t, c.ID))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
	require.False(t, resp.IsBase64Encoded)
	var got readBody
	require.NoError(t, json.Unmarshal([]byte(resp.Body), &got))
	require.Equal(t, c.ID, got.ID)
	require.Equal(t, "planning", got.Status)
	require.Equal(t, 5, got.RequestedCount)

	// The same request from another subject is a 404.
	other := getEvent(t, c.ID)
	other.RequestContext.Authorizer.JWT.Claims["sub"] = "someone-else"
	resp, err = e.svc.HandleAPIGateway(t.Context(), other)
	require.NoError(t, err)
	requireError(t, resp.StatusCode, respHeader(resp), []byte(resp.Body), http.StatusNotFound, generation.ENOTFOUND, "")
}

func TestHandleAPIGatewayReadsDelivered(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id, images, _ := e.deliveredGeneration(t, fixtureSubject)

	tests := []struct {
		name  string
		event func() events.APIGatewayV2HTTPRequest
	}{
		{name: "DefaultStage", event: func() events.APIGatewayV2HTTPRequest { return getEvent(t, id) }},
		{name: "NamedStage", event: func() events.APIGatewayV2HTTPRequest {
			// Without a custom domain, a named stage prefixes the raw path.
			ev := getEvent(t, id)
			ev.RequestContext.Stage = "prod"
			ev.RawPath = "/prod" + ev.RawPath
			return ev
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, err := e.svc.HandleAPIGateway(t.Context(), tt.event())
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
			var got readBody
			require.NoError(t, json.Unmarshal([]byte(resp.Body), &got))
			require.Equal(t, "delivered", got.Status)
			require.Len(t, got.Images, 2)
			for _, img := range got.Images {
				require.Equal(t, images[img.ID], fetch(t, img.URL))
			}
		})
	}
}

func TestHandleAPIGatewayRejects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	img := pngImage(t, 16, 16, 1)
	tests := []struct {
		name      string
		event     func(t *testing.T) events.APIGatewayV2HTTPRequest
		wantCode  int
		wantError string
		wantField string
	}{
		{
			name: "NoAuthorizerButBearerHeader",
			event: func(t *testing.T) events.APIGatewayV2HTTPRequest {
				ev := fromImageEvent(t, img)
				ev.RequestContext.Authorizer = nil
				return ev
			},
			wantCode: 401, wantError: generation.EUNAUTHORIZED,
		},
		{
			name: "JWTWithoutSub",
			event: func(t *testing.T) events.APIGatewayV2HTTPRequest {
				ev := fromImageEvent(t, img)
				delete(ev.RequestContext.Authorizer.JWT.Claims, "sub")
				return ev
			},
			wantCode: 401, wantError: generation.EUNAUTHORIZED,
		},
		{
			name: "BodyNotBase64",
			event: func(t *testing.T) events.APIGatewayV2HTTPRequest {
				ev := fromImageEvent(t, img)
				ev.Body = "%%% not base64 %%%"
				return ev
			},
			wantCode: 400, wantError: generation.EINVALID, wantField: "body",
		},
		{
			name: "BadSettings",
			event: func(t *testing.T) events.APIGatewayV2HTTPRequest {
				ev := fromImageEvent(t, img)
				body, ct := formBody(t, part{name: "image", filename: "a.png", data: img}, part{name: "settings", data: []byte(`{"count": 101}`)})
				ev.Headers["content-type"] = ct
				ev.Body = base64.StdEncoding.EncodeToString(body)
				return ev
			},
			wantCode: 400, wantError: generation.EINVALID, wantField: "count",
		},
		{
			name: "UnknownRoute",
			event: func(t *testing.T) events.APIGatewayV2HTTPRequest {
				ev := getEvent(t, generation.NewID())
				ev.RawPath = "/api/no-such-route"
				return ev
			},
			wantCode: 404, wantError: generation.ENOTFOUND,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, err := e.svc.HandleAPIGateway(t.Context(), tt.event(t))
			require.NoError(t, err)
			require.False(t, resp.IsBase64Encoded)
			requireError(t, resp.StatusCode, respHeader(resp), []byte(resp.Body), tt.wantCode, tt.wantError, tt.wantField)
			e.requireNothingWritten(t)
		})
	}
}

func TestHandleAPIGatewayJSONRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ev := loadEvent(t, "apigw-v2-from-image.json")
	ev.RouteKey, ev.RawPath = "POST /v1/generations", "/v1/generations"
	ev.RequestContext.HTTP.Path = ev.RawPath
	delete(ev.Headers, "idempotency-key")
	ev.Headers["content-type"] = "application/json"
	ev.Body = string(jsonBody(t, pngImage(t, 20, 20, 9), map[string]any{"count": 1}))
	ev.IsBase64Encoded = false // API Gateway passes text bodies as they are

	resp, err := e.svc.HandleAPIGateway(t.Context(), ev)
	require.NoError(t, err)
	c := requireCreated(t, resp.StatusCode, respHeader(resp), []byte(resp.Body))
	g, err := e.store.Generation(t.Context(), c.ID)
	require.NoError(t, err)
	require.Equal(t, fixtureSubject, g.UserID)
	require.Empty(t, g.IdempotencyKey)
}

// List and delete through API Gateway events: the JWT's subject lists its
// own generations, deletes its delivered one (204, objects gone), and the
// contract is served without a token.
func TestHandleAPIGatewayListAndDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id, _, _ := e.deliveredGeneration(t, fixtureSubject)

	list := getEvent(t, id)
	list.RawPath, list.RequestContext.HTTP.Path, list.PathParameters = "/v1/generations", "/v1/generations", nil
	list.RawQueryString = "limit=5&status=delivered"
	resp, err := e.svc.HandleAPIGateway(t.Context(), list)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
	var page httpapi.ListBody
	require.NoError(t, json.Unmarshal([]byte(resp.Body), &page))
	require.Len(t, page.Generations, 1)
	require.Equal(t, id, page.Generations[0].ID)
	require.Empty(t, page.NextCursor)

	// API Gateway cannot stream: one event and a retry hint, at once.
	watch := getEvent(t, id)
	watch.RawPath = "/v1/generations/" + id + "/events"
	watch.RequestContext.HTTP.Path = watch.RawPath
	resp, err = e.svc.HandleAPIGateway(t.Context(), watch)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
	require.Equal(t, "text/event-stream", respHeader(resp).Get("Content-Type"))
	require.Contains(t, resp.Body, "retry: 2000\n\n")
	require.Contains(t, resp.Body, "event: final\n")
	require.Equal(t, 1, strings.Count(resp.Body, "event: "))

	del := getEvent(t, id)
	del.RequestContext.HTTP.Method = http.MethodDelete
	resp, err = e.svc.HandleAPIGateway(t.Context(), del)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, resp.StatusCode, resp.Body)
	require.Empty(t, resp.Body)
	for _, key := range e.objectKeys(t) {
		require.NotContains(t, key, id, "every object of the generation is gone")
	}
	resp, err = e.svc.HandleAPIGateway(t.Context(), getEvent(t, id))
	require.NoError(t, err)
	requireError(t, resp.StatusCode, respHeader(resp), []byte(resp.Body), http.StatusNotFound, generation.ENOTFOUND, "")

	doc := getEvent(t, id)
	doc.RawPath, doc.RequestContext.HTTP.Path, doc.RequestContext.Authorizer = "/openapi.json", "/openapi.json", nil
	resp, err = e.svc.HandleAPIGateway(t.Context(), doc)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.JSONEq(t, string(httpapi.OpenAPI), resp.Body)
}
