package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
)

func TestCreate(t *testing.T) {
	t.Parallel()
	img := pngImage(t, 48, 32, 200)
	tests := []struct {
		name    string
		request func(t *testing.T) request
	}{
		{
			name: "MultipartFromImage",
			request: func(t *testing.T) request {
				body, ct := formBody(t,
					part{name: "image", filename: "dress.png", data: img},
					part{name: "settings", data: []byte(`{"count": 3, "bufferPercent": 0, "prompt": "red linen dress", "provider": "Procedural"}`)},
					part{name: "userId", data: []byte("mallory")}, // ignored: identity comes from auth
				)
				return request{method: http.MethodPost, path: "/api/generate/from-image", contentType: ct, body: body}
			},
		},
		{
			name: "JSONGenerations",
			request: func(t *testing.T) request {
				body := jsonBody(t, img, map[string]any{"count": 3, "bufferPercent": 0, "prompt": "red linen dress"})
				return request{method: http.MethodPost, path: "/v1/generations", contentType: "application/json; charset=utf-8", body: body}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			req := tt.request(t)
			req.user = "alice@example.com"
			rec := e.do(t, req)
			c := requireCreated(t, rec.Code, rec.Header(), rec.Body.Bytes())
			require.Equal(t, "planning", c.Status)
			require.Equal(t, 3, c.RequestedCount)

			g, err := e.store.Generation(t.Context(), c.ID)
			require.NoError(t, err)
			require.Equal(t, "alice@example.com", g.UserID)
			require.Equal(t, generation.StatusPlanning, g.Status)
			require.Equal(t, 3, g.RequestedCount)
			require.Equal(t, 3, g.Settings.Count)
			require.Equal(t, "procedural", g.Provider)
			require.Equal(t, "red linen dress", g.BasePrompt)
			require.InDelta(t, 0.9, g.TargetConfidence, 1e-9) // the service default
			require.Equal(t, generation.BufferFixed, g.BufferMethod)
			require.Zero(t, g.BufferPercent) // 0 % is a real choice
			require.Equal(t, generation.ReferenceKey(c.ID, "png"), g.ReferenceKey)
			require.Equal(t, "image/png", g.ReferenceContentType)
			require.Equal(t, 48, g.ReferenceFeatures.Width)
			require.Equal(t, 32, g.ReferenceFeatures.Height)
			require.NotEmpty(t, g.ReferenceFeatures.Palette)
			require.Empty(t, g.IdempotencyKey)
			require.Equal(t, "arn:aws:states:us-east-1:123456789012:execution:generation:"+c.ID, g.ExecutionARN)

			stored, err := e.objects.Get(t.Context(), g.ReferenceKey)
			require.NoError(t, err)
			require.Equal(t, img, stored)
			require.Equal(t, []string{c.ID}, e.starter.started())
		})
	}
}

func TestCreateIdempotencyKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	img := pngImage(t, 32, 32, 10)
	post := func(user, key string) *created {
		body, ct := formBody(t,
			part{name: "image", filename: "a.png", data: img},
			part{name: "settings", data: []byte(`{"count": 2}`)},
		)
		rec := e.do(t, request{
			method: http.MethodPost, path: "/api/generate/from-image", user: user,
			contentType: ct, body: body, header: map[string]string{"Idempotency-Key": key},
		})
		c := requireCreated(t, rec.Code, rec.Header(), rec.Body.Bytes())
		return &c
	}

	first := post("alice", "order-42")
	retry := post("alice", "order-42")
	require.Equal(t, first.ID, retry.ID)
	require.Equal(t, 1, e.generationCount(t))
	require.Equal(t, []string{first.ID}, e.starter.started())
	require.Len(t, e.objectKeys(t), 1)
	g, err := e.store.Generation(t.Context(), first.ID)
	require.NoError(t, err)
	require.Equal(t, "order-42", g.IdempotencyKey)

	// The key is per user, and another key is another generation.
	other := post("bob", "order-42")
	require.NotEqual(t, first.ID, other.ID)
	another := post("alice", "order-43")
	require.NotEqual(t, first.ID, another.ID)
	require.Equal(t, 3, e.generationCount(t))
	require.Equal(t, []string{first.ID, other.ID, another.ID}, e.starter.started())
}

// A workflow that cannot start answers 503 when the failure may pass (the
// adapter's EUNAVAILABLE: throttling, 5xx) and a generic 500 when it was
// refused, never the dependency's words; either way the generation is not
// failed, and the same Idempotency-Key retried starts it.
func TestCreateStartFails(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err    error
		status int
		code   string
	}{
		{generation.Errorf(generation.EUNAVAILABLE, "start execution: Step Functions is unavailable (ThrottlingException)"), http.StatusServiceUnavailable, generation.EUNAVAILABLE},
		{errStartRefused, http.StatusInternalServerError, generation.EINTERNAL},
	} {
		e := newEnv(t)
		create := func() *httptest.ResponseRecorder {
			return e.do(t, request{
				method: http.MethodPost, path: "/v1/generations", user: "alice", contentType: "application/json",
				body: jsonBody(t, pngImage(t, 16, 16, 1), map[string]any{"count": 1}), header: map[string]string{"Idempotency-Key": "k"},
			})
		}
		e.starter.err = tt.err
		rec := create()
		got := requireError(t, rec.Code, rec.Header(), rec.Body.Bytes(), tt.status, tt.code, "")
		require.NotContains(t, got.Error.Message, "AccessDenied") // never leak the dependency's error

		ids := e.starter.started()
		require.Len(t, ids, 1)
		g, err := e.store.Generation(t.Context(), ids[0])
		require.NoError(t, err)
		require.False(t, g.Status.Final(), "a start failure burns nothing")
		require.Empty(t, g.ExecutionARN)

		e.starter.err = nil
		rec = create()
		require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
		require.Equal(t, []string{ids[0], ids[0]}, e.starter.started(), "the retry starts the same generation")
		g, err = e.store.Generation(t.Context(), ids[0])
		require.NoError(t, err)
		require.NotEmpty(t, g.ExecutionARN)
	}
}

func TestCreateRejectsBadInput(t *testing.T) {
	t.Parallel()
	const maxBody = 64 << 10
	e := newEnv(t, func(e *env) { e.svc.MaxBodyBytes = maxBody })
	img := pngImage(t, 32, 32, 99)
	form := func(imgData []byte, settings string) func(t *testing.T) request {
		return func(t *testing.T) request {
			var parts []part
			if imgData != nil {
				parts = append(parts, part{name: "image", filename: "ref.png", data: imgData})
			}
			if settings != "" {
				parts = append(parts, part{name: "settings", data: []byte(settings)})
			}
			body, ct := formBody(t, parts...)
			return request{method: http.MethodPost, path: "/api/generate/from-image", contentType: ct, body: body}
		}
	}
	rawJSON := func(body string) func(t *testing.T) request {
		return func(*testing.T) request {
			return request{method: http.MethodPost, path: "/v1/generations", contentType: "application/json", body: []byte(body)}
		}
	}
	withJSON := func(imgData []byte, settings any) func(t *testing.T) request {
		return func(t *testing.T) request {
			return request{method: http.MethodPost, path: "/v1/generations", contentType: "application/json", body: jsonBody(t, imgData, settings)}
		}
	}
	b64 := base64.StdEncoding.EncodeToString
	noise := bytes.Repeat([]byte("0123456789abcdef"), maxBody/16+1024)

	tests := []struct {
		name      string
		request   func(t *testing.T) request
		header    map[string]string
		wantCode  int
		wantError string
		wantField string
	}{
		{name: "FormNotAnImage", request: form([]byte("just some text, not pixels"), `{"count":1}`), wantCode: 415, wantError: generation.EUNSUPPORTED, wantField: "image"},
		{name: "JSONNotAnImage", request: withJSON([]byte("just some text, not pixels"), map[string]any{"count": 1}), wantCode: 415, wantError: generation.EUNSUPPORTED, wantField: "image"},
		{name: "FormTruncatedPNG", request: form(img[:len(img)/2], `{"count":1}`), wantCode: 400, wantError: generation.EINVALID, wantField: "image"},
		{name: "JSONTruncatedPNG", request: withJSON(img[:len(img)/2], map[string]any{"count": 1}), wantCode: 400, wantError: generation.EINVALID, wantField: "image"},
		{name: "HugeDimensions", request: form(hugePNG(50000, 50000), `{"count":1}`), wantCode: 413, wantError: generation.ETOOLARGE, wantField: "image"},
		// Under the pixel caps, but 137 MiB of RGBA to decode: over the reference budget.
		{name: "OverDecodeBudget", request: form(hugePNG(6000, 6000), `{"count":1}`), wantCode: 413, wantError: generation.ETOOLARGE, wantField: "image"},
		{name: "FormOversizedBody", request: form(noise, `{"count":1}`), wantCode: 413, wantError: generation.ETOOLARGE},
		{name: "JSONOversizedBody", request: withJSON(noise, map[string]any{"count": 1}), wantCode: 413, wantError: generation.ETOOLARGE},
		{name: "FormCountZero", request: form(img, `{"count":0}`), wantCode: 400, wantError: generation.EINVALID, wantField: "count"},
		{name: "FormCount101", request: form(img, `{"count":101}`), wantCode: 400, wantError: generation.EINVALID, wantField: "count"},
		{name: "FormCountString", request: form(img, `{"count":"x"}`), wantCode: 400, wantError: generation.EINVALID, wantField: "count"},
		{name: "JSONCountZero", request: withJSON(img, map[string]any{"count": 0}), wantCode: 400, wantError: generation.EINVALID, wantField: "count"},
		{name: "JSONCount101", request: withJSON(img, map[string]any{"count": 101}), wantCode: 400, wantError: generation.EINVALID, wantField: "count"},
		{name: "JSONCountString", request: withJSON(img, map[string]any{"count": "x"}), wantCode: 400, wantError: generation.EINVALID, wantField: "count"},
		{name: "NoCount", request: form(img, `{}`), wantCode: 400, wantError: generation.EINVALID, wantField: "count"},
		{name: "NoSettings", request: form(img, ""), wantCode: 400, wantError: generation.EINVALID, wantField: "count"},
		{name: "BufferPercentNegative", request: form(img, `{"count":1,"bufferPercent":-1}`), wantCode: 400, wantError: generation.EINVALID, wantField: "bufferPercent"},
		{name: "UnknownSetting", request: withJSON(img, map[string]any{"count": 1, "colour": "red"}), wantCode: 400, wantError: generation.EINVALID, wantField: "colour"},
		{name: "FormUnknownSetting", request: form(img, `{"count":1,"strategy":"balanced"}`), wantCode: 400, wantError: generation.EINVALID, wantField: "strategy"},
		{name: "NULInPrompt", request: withJSON(img, map[string]any{"count": 1, "prompt": "red\x00dress"}), wantCode: 400, wantError: generation.EINVALID, wantField: "prompt"},
		{name: "FormNoImage", request: form(nil, `{"count":1}`), wantCode: 400, wantError: generation.EINVALID, wantField: "image"},
		{name: "FormEmptyImage", request: form([]byte{}, `{"count":1}`), wantCode: 400, wantError: generation.EINVALID, wantField: "image"},
		{name: "JSONNoImage", request: rawJSON(`{"settings":{"count":1}}`), wantCode: 400, wantError: generation.EINVALID, wantField: "image"},
		{name: "JSONMalformedBase64", request: rawJSON(`{"image":"not base64!!","settings":{"count":1}}`), wantCode: 400, wantError: generation.EINVALID, wantField: "image"},
		{name: "JSONImageNotString", request: rawJSON(`{"image":42,"settings":{"count":1}}`), wantCode: 400, wantError: generation.EINVALID, wantField: "image"},
		{name: "FormSettingsNotJSON", request: form(img, `count=1`), wantCode: 400, wantError: generation.EINVALID, wantField: "settings"},
		{name: "JSONSettingsNotObject", request: rawJSON(`{"image":"` + b64(img) + `","settings":"count=1"}`), wantCode: 400, wantError: generation.EINVALID, wantField: "settings"},
		{name: "JSONBodyNotJSON", request: rawJSON(`image=abc`), wantCode: 400, wantError: generation.EINVALID, wantField: "body"},
		{name: "JSONTrailingData", request: rawJSON(`{"image":"` + b64(img) + `","settings":{"count":1}} {}`), wantCode: 400, wantError: generation.EINVALID, wantField: "body"},
		{name: "JSONUnknownField", request: rawJSON(`{"image":"` + b64(img) + `","settings":{"count":1},"userId":"mallory"}`), wantCode: 400, wantError: generation.EINVALID, wantField: "userId"},
		{name: "FormUnknownField", request: func(t *testing.T) request {
			body, ct := formBody(t, part{name: "image", filename: "a.png", data: img}, part{name: "settings", data: []byte(`{"count":1}`)}, part{name: "strategy", data: []byte("x")})
			return request{method: http.MethodPost, path: "/api/generate/from-image", contentType: ct, body: body}
		}, wantCode: 400, wantError: generation.EINVALID, wantField: "strategy"},
		{name: "FormImageTwice", request: func(t *testing.T) request {
			body, ct := formBody(t, part{name: "image", filename: "a.png", data: img}, part{name: "image", filename: "b.png", data: img}, part{name: "settings", data: []byte(`{"count":1}`)})
			return request{method: http.MethodPost, path: "/api/generate/from-image", contentType: ct, body: body}
		}, wantCode: 400, wantError: generation.EINVALID, wantField: "image"},
		{name: "FormRouteGivenJSON", request: func(t *testing.T) request {
			r := withJSON(img, map[string]any{"count": 1})(t)
			r.path = "/api/generate/from-image"
			return r
		}, wantCode: 415, wantError: generation.EUNSUPPORTED},
		{name: "JSONRouteGivenForm", request: func(t *testing.T) request {
			r := form(img, `{"count":1}`)(t)
			r.path = "/v1/generations"
			return r
		}, wantCode: 415, wantError: generation.EUNSUPPORTED},
		{name: "NoContentType", request: func(t *testing.T) request {
			r := withJSON(img, map[string]any{"count": 1})(t)
			r.contentType = ""
			return r
		}, wantCode: 415, wantError: generation.EUNSUPPORTED},
		{name: "MultipartWithoutBoundary", request: func(*testing.T) request {
			return request{method: http.MethodPost, path: "/api/generate/from-image", contentType: "multipart/form-data", body: []byte("x")}
		}, wantCode: 400, wantError: generation.EINVALID, wantField: "Content-Type"},
		{name: "MultipartWithoutParts", request: func(*testing.T) request {
			return request{method: http.MethodPost, path: "/api/generate/from-image", contentType: "multipart/form-data; boundary=xyz", body: []byte("not multipart at all")}
		}, wantCode: 400, wantError: generation.EINVALID, wantField: "image"},
		{name: "MultipartCutShort", request: func(*testing.T) request {
			body := "--xyz\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\n\x89PNG\r\n"
			return request{method: http.MethodPost, path: "/api/generate/from-image", contentType: "multipart/form-data; boundary=xyz", body: []byte(body)}
		}, wantCode: 400, wantError: generation.EINVALID, wantField: "body"},
		{name: "IdempotencyKeyTooLong", request: form(img, `{"count":1}`), header: map[string]string{"Idempotency-Key": strings.Repeat("k", 201)}, wantCode: 400, wantError: generation.EINVALID, wantField: "Idempotency-Key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := tt.request(t)
			req.user = "alice"
			req.header = tt.header
			rec := e.do(t, req)
			requireError(t, rec.Code, rec.Header(), rec.Body.Bytes(), tt.wantCode, tt.wantError, tt.wantField)
			e.requireNothingWritten(t)
		})
	}
}

func TestCreateRequiresIdentity(t *testing.T) {
	t.Parallel()
	img := pngImage(t, 16, 16, 3)
	tests := []struct {
		name      string
		localAuth bool
		auth      string
	}{
		{name: "NoHeader", localAuth: true},
		{name: "NotBearer", localAuth: true, auth: "Basic YWxpY2U6cHc="},
		{name: "BadUserID", localAuth: true, auth: "Bearer alice smith"},
		{name: "UserIDTooLong", localAuth: true, auth: "Bearer " + strings.Repeat("a", 129)},
		{name: "LocalAuthOff", localAuth: false, auth: "Bearer alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(e *env) { e.svc.LocalAuth = tt.localAuth })
			req := request{
				method: http.MethodPost, path: "/v1/generations", contentType: "application/json",
				body: jsonBody(t, img, map[string]any{"count": 1}),
			}
			if tt.auth != "" {
				req.header = map[string]string{"Authorization": tt.auth}
			}
			rec := e.do(t, req)
			requireError(t, rec.Code, rec.Header(), rec.Body.Bytes(), http.StatusUnauthorized, generation.EUNAUTHORIZED, "")
			e.requireNothingWritten(t)
		})
	}
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name      string
		method    string
		path      string
		wantCode  int
		wantError string
		wantAllow string
	}{
		{name: "UnknownRoute", method: http.MethodGet, path: "/api/generate/onboarding", wantCode: 404, wantError: generation.ENOTFOUND},
		{name: "Root", method: http.MethodGet, path: "/", wantCode: 404, wantError: generation.ENOTFOUND},
		{name: "WrongMethodOnCreate", method: http.MethodPut, path: "/v1/generations", wantCode: 405, wantError: "method_not_allowed", wantAllow: "GET, HEAD, POST"},
		{name: "WrongMethodOnRead", method: http.MethodPost, path: "/v1/generations/8a6e0804-2bd0-4672-b79d-d97027f9071a", wantCode: 405, wantError: "method_not_allowed", wantAllow: "DELETE, GET, HEAD"},
		{name: "WrongMethodOnForm", method: http.MethodPut, path: "/api/generate/from-image", wantCode: 405, wantError: "method_not_allowed", wantAllow: "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := e.do(t, request{method: tt.method, path: tt.path, user: "alice"})
			requireError(t, rec.Code, rec.Header(), rec.Body.Bytes(), tt.wantCode, tt.wantError, "")
			require.Equal(t, tt.wantAllow, rec.Header().Get("Allow"))
		})
	}
}
