package openai_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/provider/openai"
	"github.com/designerbff/pipeline/shared/provider/providerhttp"
	"github.com/designerbff/pipeline/shared/provider/providertest"
)

const key = "sk-test-123"

// fakeOpenAI speaks the Images API: it records the request and answers with respond.
func fakeOpenAI(t *testing.T, respond providertest.Responder) (*httptest.Server, *providertest.Recorder) {
	t.Helper()
	return providertest.Serve(t, func(w http.ResponseWriter, got providertest.Recorded) {
		w.Header().Set("x-request-id", "req_123")
		respond(w, got)
	})
}

func images(t *testing.T, n int) providertest.Responder {
	return func(w http.ResponseWriter, _ providertest.Recorded) {
		var data []map[string]any
		for i := range n {
			data = append(data, map[string]any{"b64_json": base64.StdEncoding.EncodeToString(providertest.PNG(t, 64, 48, uint8(40*i)))})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"created": 1764158400, "data": data, "output_format": "png", "size": "1024x1024",
			"usage": map[string]any{"input_tokens": 50, "output_tokens": 1056, "total_tokens": 1106}})
	}
}

func apiError(status int, body string, headers ...string) providertest.Responder {
	return func(w http.ResponseWriter, _ providertest.Recorded) {
		providertest.WriteJSON(w, status, body, headers...)
	}
}

func errBody(typ, code, msg string) string {
	return fmt.Sprintf(`{"error": {"message": %q, "type": %q, "param": null, "code": %q}}`, msg, typ, code)
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	ref := providertest.PNG(t, 32, 32, 200)
	tests := []struct {
		name      string
		respond   func(*testing.T) providertest.Responder
		req       generation.ProviderRequest
		n         int
		key       string
		maxCall   time.Duration
		wantKind  generation.ProviderErrorKind
		wantIn    string // in the reason
		wantWait  time.Duration
		wantCalls int
		check     func(t *testing.T, got providertest.Recorded, imgs []generation.Image)
	}{
		{name: "one image", respond: func(t *testing.T) providertest.Responder { return images(t, 1) },
			req: generation.ProviderRequest{Prompt: "a navy coat", NegativePrompt: "text, watermark", Width: 1024, Height: 1024, Seed: 9},
			check: func(t *testing.T, got providertest.Recorded, imgs []generation.Image) {
				require.Equal(t, "/v1/images/generations", got.Path)
				require.Equal(t, "application/json", got.ContentType())
				require.Equal(t, map[string]any{"model": "gpt-image-2", "prompt": "a navy coat\n\nAvoid: text, watermark", "n": float64(1),
					"size": "1024x1024", "quality": "medium", "output_format": "png"}, got.JSON)
				require.Len(t, imgs, 1)
				require.Equal(t, "image/png", imgs[0].ContentType)
				require.Equal(t, [2]int{64, 48}, [2]int{imgs[0].Width, imgs[0].Height})
				require.Equal(t, "gpt-image-2", imgs[0].Model)
				require.InDelta(t, 0.07, imgs[0].CostUSD, 1e-9)
			}},
		{name: "several images in one call, landscape", respond: func(t *testing.T) providertest.Responder { return images(t, 3) },
			req: generation.ProviderRequest{Prompt: "coat", Model: "gpt-image-1.5", Width: 1500, Height: 1000}, n: 3,
			check: func(t *testing.T, got providertest.Recorded, imgs []generation.Image) {
				require.Equal(t, float64(3), got.JSON["n"])
				require.Equal(t, "1536x1024", got.JSON["size"])
				require.Equal(t, "gpt-image-1.5", got.JSON["model"])
				require.Len(t, imgs, 3)
				require.NotEqual(t, imgs[0].Bytes, imgs[1].Bytes)
				total := 0.0
				for _, im := range imgs {
					total += im.CostUSD
				}
				require.InDelta(t, 3*0.034, total, 1e-9)
			}},
		{name: "reference image goes to edits as multipart", respond: func(t *testing.T) providertest.Responder { return images(t, 1) },
			req: generation.ProviderRequest{Prompt: "same coat in red", Reference: ref, ReferenceContentType: "image/png", Width: 512, Height: 768},
			check: func(t *testing.T, got providertest.Recorded, imgs []generation.Image) {
				require.Equal(t, "/v1/images/edits", got.Path)
				require.Equal(t, map[string]string{"model": "gpt-image-2", "prompt": "same coat in red", "n": "1", "size": "1024x1536",
					"quality": "medium", "output_format": "png"}, got.Fields)
				require.Equal(t, map[string]providertest.File{"image": {Bytes: ref, ContentType: "image/png"}}, got.Files)
				require.Len(t, imgs, 1)
			}},
		{name: "moderation at the input stage", respond: func(*testing.T) providertest.Responder {
			return apiError(400, `{"error": {"message": "Your request was rejected by the safety system. safety_violations=[sexual].", "type": "image_generation_user_error", "param": null, "code": "moderation_blocked", "moderation_details": {"moderation_stage": "input", "categories": ["sexual"]}}}`)
		}, wantKind: generation.ProviderFiltered, wantIn: "moderation_blocked (input: sexual): Your request was rejected"},
		{name: "moderation at the output stage", respond: func(*testing.T) providertest.Responder {
			return apiError(400, `{"error": {"message": "Generated image was rejected by the safety system.", "type": "image_generation_user_error", "param": null, "code": "moderation_blocked", "moderation_details": {"moderation_stage": "output", "categories": ["violence"]}}}`)
		}, wantKind: generation.ProviderFiltered, wantIn: "moderation_blocked (output: violence)"},
		{name: "DALL-E era content policy", respond: func(*testing.T) providertest.Responder {
			return apiError(400, errBody("invalid_request_error", "content_policy_violation", "Your request was rejected as a result of our safety system."))
		}, wantKind: generation.ProviderFiltered, wantIn: "content_policy_violation"},
		{name: "429 with Retry-After-Ms", respond: func(*testing.T) providertest.Responder {
			return apiError(429, errBody("requests", "rate_limit_exceeded", "Rate limit reached for images per minute."), "Retry-After-Ms", "1500", "Retry-After", "2")
		}, wantKind: generation.ProviderThrottled, wantWait: 1500 * time.Millisecond},
		{name: "429 with Retry-After seconds", respond: func(*testing.T) providertest.Responder {
			return apiError(429, errBody("requests", "rate_limit_exceeded", "Rate limit reached."), "Retry-After", "7")
		}, wantKind: generation.ProviderThrottled, wantWait: 7 * time.Second},
		{name: "429 without Retry-After: the message's hint", respond: func(*testing.T) providertest.Responder {
			return apiError(429, errBody("tokens", "rate_limit_exceeded", "Rate limit reached for gpt-image-2. Please try again in 26.604s."))
		}, wantKind: generation.ProviderThrottled, wantWait: 26604 * time.Millisecond, wantIn: "rate_limit_exceeded"},
		{name: "429 with no hint at all", respond: func(*testing.T) providertest.Responder {
			return apiError(429, errBody("requests", "rate_limit_exceeded", "Slow down."))
		}, wantKind: generation.ProviderThrottled, wantWait: 0},
		{name: "429 insufficient quota is not retried", respond: func(*testing.T) providertest.Responder {
			return apiError(429, errBody("insufficient_quota", "insufficient_quota", "You exceeded your current quota."))
		}, wantKind: generation.ProviderQuota},
		{name: "500", respond: func(*testing.T) providertest.Responder {
			return apiError(500, errBody("server_error", "", "The server had an error while processing your request."))
		}, wantKind: generation.ProviderUnavailable, wantIn: "server had an error"},
		{name: "503 without an envelope", respond: func(*testing.T) providertest.Responder {
			return apiError(503, `<html>upstream unavailable</html>`)
		}, wantKind: generation.ProviderUnavailable, wantIn: "HTTP 503"},
		{name: "timeout", maxCall: 100 * time.Millisecond, respond: func(t *testing.T) providertest.Responder {
			return func(w http.ResponseWriter, got providertest.Recorded) {
				time.Sleep(400 * time.Millisecond)
				images(t, 1)(w, got)
			}
		}, wantKind: generation.ProviderUnavailable, wantIn: "timeout"},
		{name: "malformed JSON", respond: func(*testing.T) providertest.Responder {
			return apiError(200, `{"created": 1764158400, "data": [{"b64_json": "iVBOR`)
		}, wantKind: generation.ProviderUnavailable, wantIn: "malformed response"},
		{name: "empty image list", respond: func(*testing.T) providertest.Responder {
			return apiError(200, `{"created": 1764158400, "data": []}`)
		}, wantKind: generation.ProviderUnavailable, wantIn: "no images"},
		{name: "retired model", req: generation.ProviderRequest{Prompt: "coat", Model: "dall-e-3"}, respond: func(t *testing.T) providertest.Responder {
			return func(w http.ResponseWriter, got providertest.Recorded) {
				assert.Equal(t, "dall-e-3", got.JSON["model"])
				apiError(404, errBody("invalid_request_error", "model_not_found", "The model `dall-e-3` does not exist or you do not have access to it."))(w, got)
			}
		}, wantKind: generation.ProviderModelRetired, wantIn: "model_not_found"},
		{name: "bad key", key: "sk-wrong", respond: func(*testing.T) providertest.Responder {
			return apiError(401, errBody("invalid_request_error", "invalid_api_key", "Incorrect API key provided: sk-wrong."))
		}, wantKind: generation.ProviderAuth, wantIn: "Incorrect API key"},
		{name: "no key: no call", key: "-", respond: func(t *testing.T) providertest.Responder { return images(t, 1) },
			wantKind: generation.ProviderAuth, wantIn: "OPENAI_API_KEY is not set", wantCalls: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, rec := fakeOpenAI(t, tt.respond(t))
			p := openai.New(openai.Options{APIKey: providertest.Key(key, tt.key), BaseURL: srv.URL, HTTP: providerhttp.Caller{MaxCall: tt.maxCall, Local: true}})
			imgs, err := p.GenerateN(context.Background(), providertest.Request(tt.req), max(tt.n, 1))
			require.Equal(t, providertest.Calls(tt.wantCalls), rec.Calls(), "one attempt, never a loop")
			for _, got := range rec.Requests() {
				require.Equal(t, http.MethodPost, got.Method)
				require.Equal(t, "Bearer "+providertest.Key(key, tt.key), got.Header.Get("Authorization"))
			}
			if !providertest.RequireOutcome(t, err, "openai", tt.wantKind, tt.wantIn, tt.wantWait) {
				return
			}
			tt.check(t, rec.Last(), imgs)
		})
	}
}

func TestGenerateReturnsOneImage(t *testing.T) {
	t.Parallel()
	srv, _ := fakeOpenAI(t, images(t, 1))
	p := openai.New(openai.Options{APIKey: key, BaseURL: srv.URL, HTTP: providerhttp.Caller{Local: true}})
	require.Equal(t, "openai", p.Name())
	require.Equal(t, "gpt-image-2", p.DefaultModel())
	img, err := p.Generate(context.Background(), generation.ProviderRequest{Prompt: "coat"})
	require.NoError(t, err)
	require.Equal(t, "image/png", img.ContentType)
	require.InDelta(t, 0.07, img.CostUSD, 1e-9)
}

func TestNoTimeLeftBeforeTheDeadline(t *testing.T) {
	t.Parallel()
	srv, rec := fakeOpenAI(t, images(t, 1))
	p := openai.New(openai.Options{APIKey: key, BaseURL: srv.URL, HTTP: providerhttp.Caller{Margin: 5 * time.Second, Local: true}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second) // less than the margin
	defer cancel()
	_, err := p.Generate(ctx, generation.ProviderRequest{Prompt: "coat"})
	pe, ok := generation.AsProviderError(err)
	require.True(t, ok)
	require.Equal(t, generation.ProviderUnavailable, pe.Kind)
	require.Zero(t, rec.Calls())
}
