package gemini_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/provider/gemini"
	"github.com/designerbff/pipeline/shared/provider/providerhttp"
	"github.com/designerbff/pipeline/shared/provider/providertest"
)

const key = "AIza-test"

// route is the model and method of a call to the fake, which stands for
// POST /v1beta/models/{model}:{generateContent|predict}.
func route(path string) (model, method string, ok bool) {
	rest, ok := strings.CutPrefix(path, "/v1beta/models/")
	if !ok {
		return "", "", false
	}
	return strings.Cut(rest, ":")
}

// apiKey is the key a call carried, in x-goog-api-key or ?key=.
func apiKey(got providertest.Recorded) string {
	if k := got.Header.Get("x-goog-api-key"); k != "" {
		return k
	}
	return got.Query.Get("key")
}

func paths(got []providertest.Recorded) []string {
	var ps []string
	for _, g := range got {
		ps = append(ps, g.Path)
	}
	return ps
}

func reply(status int, body string) providertest.Responder {
	return func(w http.ResponseWriter, _ providertest.Recorded) {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func imageReply(t *testing.T, snake bool) providertest.Responder {
	return func(w http.ResponseWriter, got providertest.Recorded) {
		data := base64.StdEncoding.EncodeToString(providertest.PNG(t, 40, 30, uint8(got.N*50)))
		inline := fmt.Sprintf(`"inlineData": {"mimeType": "image/png", "data": %q}`, data)
		if snake {
			inline = fmt.Sprintf(`"inline_data": {"mime_type": "image/png", "data": %q}`, data)
		}
		reply(200, `{"candidates": [{"content": {"role": "model", "parts": [{"text": "Here is your coat."}, {`+inline+`}]}, "finishReason": "STOP", "index": 0}],
			"usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 1290, "totalTokenCount": 1302, "candidatesTokensDetails": [{"modality": "IMAGE", "tokenCount": 1290}]},
			"modelVersion": "gemini-3.1-flash-image", "responseId": "abc"}`)(w, got)
	}
}

func googleError(status int, grpc, msg string, details ...string) providertest.Responder {
	return reply(status, fmt.Sprintf(`{"error": {"code": %d, "message": %q, "status": %q, "details": [%s]}}`, status, msg, grpc, strings.Join(details, ",")))
}

// parts returns the request's contents[0].parts.
func parts(t *testing.T, body map[string]any) []any {
	contents := body["contents"].([]any)
	require.Len(t, contents, 1)
	c := contents[0].(map[string]any)
	require.Equal(t, "user", c["role"])
	return c["parts"].([]any)
}

// inline reads an inline data part in either key style.
func inline(p map[string]any) (mime, data string) {
	b, ok := p["inlineData"].(map[string]any)
	if !ok {
		b, _ = p["inline_data"].(map[string]any)
	}
	mime, _ = b["mimeType"].(string)
	if mime == "" {
		mime, _ = b["mime_type"].(string)
	}
	data, _ = b["data"].(string)
	return mime, data
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	ref := providertest.PNG(t, 24, 24, 180)
	retryInfo := `{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "38s"}`
	tests := []struct {
		name      string
		respond   func(*testing.T) providertest.Responder
		req       generation.ProviderRequest
		n         int
		key       string
		maxCall   time.Duration
		wantKind  generation.ProviderErrorKind
		wantIn    string
		wantWait  time.Duration
		wantCalls int
		check     func(t *testing.T, got []providertest.Recorded, imgs []generation.Image)
	}{
		{name: "one image", respond: func(t *testing.T) providertest.Responder { return imageReply(t, false) },
			req: generation.ProviderRequest{Prompt: "a navy coat", NegativePrompt: "text", Width: 1600, Height: 900},
			check: func(t *testing.T, got []providertest.Recorded, imgs []generation.Image) {
				require.Equal(t, []string{"/v1beta/models/gemini-3.1-flash-image:generateContent"}, paths(got))
				ps := parts(t, got[0].JSON)
				require.Len(t, ps, 1)
				require.Equal(t, "a navy coat\n\nAvoid: text", ps[0].(map[string]any)["text"])
				cfg := got[0].JSON["generationConfig"].(map[string]any)
				require.Equal(t, []any{"TEXT", "IMAGE"}, cfg["responseModalities"])
				require.Equal(t, map[string]any{"aspectRatio": "16:9"}, cfg["imageConfig"])
				require.Len(t, imgs, 1)
				require.Equal(t, "image/png", imgs[0].ContentType)
				require.Equal(t, [2]int{40, 30}, [2]int{imgs[0].Width, imgs[0].Height})
				require.InDelta(t, 0.067, imgs[0].CostUSD, 1e-9)
				require.Equal(t, "gemini-3.1-flash-image", imgs[0].Model)
			}},
		{name: "several images: one call each", n: 3, respond: func(t *testing.T) providertest.Responder { return imageReply(t, false) },
			wantCalls: 3,
			check: func(t *testing.T, got []providertest.Recorded, imgs []generation.Image) {
				require.Len(t, imgs, 3)
				require.NotEqual(t, imgs[0].Bytes, imgs[1].Bytes)
			}},
		{name: "snake_case reply parts are read", respond: func(t *testing.T) providertest.Responder { return imageReply(t, true) },
			check: func(t *testing.T, _ []providertest.Recorded, imgs []generation.Image) { require.Len(t, imgs, 1) }},
		{name: "reference image as inline data", req: generation.ProviderRequest{Prompt: "same coat", Reference: ref, ReferenceContentType: "image/png"},
			respond: func(t *testing.T) providertest.Responder { return imageReply(t, false) },
			check: func(t *testing.T, got []providertest.Recorded, _ []generation.Image) {
				ps := parts(t, got[0].JSON)
				require.Len(t, ps, 2)
				require.Contains(t, ps[0].(map[string]any)["text"], "same coat")
				mime, data := inline(ps[1].(map[string]any))
				require.Equal(t, "image/png", mime)
				require.Equal(t, base64.StdEncoding.EncodeToString(ref), data)
			}},
		{name: "prompt blocked: no candidates", respond: func(*testing.T) providertest.Responder {
			return reply(200, `{"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "usageMetadata": {"promptTokenCount": 9}}`)
		}, wantKind: generation.ProviderFiltered, wantIn: "blockReason PROHIBITED_CONTENT"},
		{name: "IMAGE_SAFETY with no content", respond: func(*testing.T) providertest.Responder {
			return reply(200, `{"candidates": [{"finishReason": "IMAGE_SAFETY", "index": 0}]}`)
		}, wantKind: generation.ProviderFiltered, wantIn: "finishReason IMAGE_SAFETY"},
		{name: "NO_IMAGE", respond: func(*testing.T) providertest.Responder {
			return reply(200, `{"candidates": [{"content": {"role": "model", "parts": []}, "finishReason": "NO_IMAGE"}]}`)
		}, wantKind: generation.ProviderFiltered, wantIn: "finishReason NO_IMAGE"},
		{name: "STOP with only text is filtered by content", respond: func(*testing.T) providertest.Responder {
			return reply(200, `{"candidates": [{"content": {"role": "model", "parts": [{"text": "I can't create images of that person."}]}, "finishReason": "STOP"}]}`)
		}, wantKind: generation.ProviderFiltered, wantIn: "no image part (finishReason STOP): I can't create images"},
		{name: "429 with RetryInfo", respond: func(*testing.T) providertest.Responder {
			return googleError(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).", retryInfo)
		}, wantKind: generation.ProviderThrottled, wantWait: 38 * time.Second, wantIn: "RESOURCE_EXHAUSTED"},
		{name: "429 without RetryInfo", respond: func(*testing.T) providertest.Responder {
			return googleError(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted.")
		}, wantKind: generation.ProviderThrottled, wantWait: 0},
		{name: "429 on a daily quota is not retried", respond: func(*testing.T) providertest.Responder {
			return googleError(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota.",
				`{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_requests_per_model_per_day", "quotaId": "GenerateRequestsPerDayPerProjectPerModel"}]}`, retryInfo)
		}, wantKind: generation.ProviderQuota},
		{name: "500", respond: func(*testing.T) providertest.Responder {
			return googleError(500, "INTERNAL", "An internal error has occurred.")
		}, wantKind: generation.ProviderUnavailable, wantIn: "INTERNAL"},
		{name: "503 overloaded", respond: func(*testing.T) providertest.Responder {
			return googleError(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")
		}, wantKind: generation.ProviderUnavailable, wantIn: "overloaded"},
		{name: "timeout", maxCall: 100 * time.Millisecond, respond: func(t *testing.T) providertest.Responder {
			return func(w http.ResponseWriter, got providertest.Recorded) {
				time.Sleep(400 * time.Millisecond)
				imageReply(t, false)(w, got)
			}
		}, wantKind: generation.ProviderUnavailable, wantIn: "timeout"},
		{name: "malformed JSON", respond: func(*testing.T) providertest.Responder {
			return reply(200, `{"candidates": [{"content": `)
		}, wantKind: generation.ProviderUnavailable, wantIn: "malformed"},
		{name: "empty candidate list", respond: func(*testing.T) providertest.Responder {
			return reply(200, `{"candidates": [], "usageMetadata": {"promptTokenCount": 9}}`)
		}, wantKind: generation.ProviderUnavailable, wantIn: "no candidates"},
		{name: "retired Gemini model", req: generation.ProviderRequest{Prompt: "coat", Model: "gemini-2.5-flash-image"},
			respond: func(t *testing.T) providertest.Responder {
				return func(w http.ResponseWriter, got providertest.Recorded) {
					model, method, _ := route(got.Path)
					assert.Equal(t, "gemini-2.5-flash-image", model)
					assert.Equal(t, "generateContent", method)
					googleError(404, "NOT_FOUND", "models/gemini-2.5-flash-image is not found for API version v1beta, or is not supported for generateContent.")(w, got)
				}
			}, wantKind: generation.ProviderModelRetired, wantIn: "NOT_FOUND"},
		{name: "retired Imagen model on :predict", req: generation.ProviderRequest{Prompt: "coat", Model: "imagen-4.0-generate-001"},
			respond: func(t *testing.T) providertest.Responder {
				return func(w http.ResponseWriter, got providertest.Recorded) {
					_, method, _ := route(got.Path)
					assert.Equal(t, "predict", method)
					assert.Equal(t, map[string]any{"prompt": "coat"}, got.JSON["instances"].([]any)[0])
					assert.Equal(t, float64(1), got.JSON["parameters"].(map[string]any)["sampleCount"])
					googleError(404, "NOT_FOUND", "models/imagen-4.0-generate-001 is not found for API version v1beta.")(w, got)
				}
			}, wantKind: generation.ProviderModelRetired},
		{name: "Imagen form: one image, one slot filtered", n: 2, req: generation.ProviderRequest{Prompt: "coat", Model: "imagen-test"},
			respond: func(t *testing.T) providertest.Responder {
				return func(w http.ResponseWriter, got providertest.Recorded) {
					assert.Equal(t, true, got.JSON["parameters"].(map[string]any)["includeRaiReason"])
					reply(200, fmt.Sprintf(`{"predictions": [{"bytesBase64Encoded": %q, "mimeType": "image/png"}, {"raiFilteredReason": "39322892: contained people"}]}`,
						base64.StdEncoding.EncodeToString(providertest.PNG(t, 16, 16, 3))))(w, got)
				}
			},
			check: func(t *testing.T, got []providertest.Recorded, imgs []generation.Image) {
				require.Equal(t, []string{"/v1beta/models/imagen-test:predict"}, paths(got))
				require.Len(t, imgs, 1)
			}},
		{name: "Imagen form: every slot filtered, no predictions key", req: generation.ProviderRequest{Prompt: "coat", Model: "imagen-test"},
			respond:  func(*testing.T) providertest.Responder { return reply(200, `{}`) },
			wantKind: generation.ProviderFiltered, wantIn: "no predictions"},
		{name: "bad key", key: "AIza-wrong", respond: func(*testing.T) providertest.Responder {
			return googleError(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
				`{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"}`)
		}, wantKind: generation.ProviderAuth, wantIn: "API key not valid"},
		{name: "invalid argument", respond: func(*testing.T) providertest.Responder {
			return googleError(400, "INVALID_ARGUMENT", "Request contains an invalid argument.")
		}, wantKind: generation.ProviderInvalidRequest},
		{name: "a dot-dot model: no call", req: generation.ProviderRequest{Prompt: "coat", Model: ".."},
			respond:  func(t *testing.T) providertest.Responder { return imageReply(t, false) },
			wantKind: generation.ProviderInvalidRequest, wantIn: "path segment", wantCalls: -1},
		{name: "a model stays one path segment", req: generation.ProviderRequest{Prompt: "coat", Model: "x/../../v1/files?y"},
			respond: func(t *testing.T) providertest.Responder { return imageReply(t, false) },
			check: func(t *testing.T, got []providertest.Recorded, _ []generation.Image) {
				require.Equal(t, []string{"/v1beta/models/x/../../v1/files?y:generateContent"}, paths(got), "decoded: the escaped %2F and %3F reached the server")
			}},
		{name: "no key: no call", key: "-", respond: func(t *testing.T) providertest.Responder { return imageReply(t, false) },
			wantKind: generation.ProviderAuth, wantIn: "GEMINI_API_KEY is not set", wantCalls: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, rec := providertest.Serve(t, tt.respond(t))
			p := gemini.New(gemini.Options{APIKey: providertest.Key(key, tt.key), BaseURL: srv.URL, HTTP: providerhttp.Caller{MaxCall: tt.maxCall, Local: true}})
			imgs, err := p.GenerateN(context.Background(), providertest.Request(tt.req), max(tt.n, 1))
			require.Equal(t, providertest.Calls(tt.wantCalls), rec.Calls())
			got := rec.Requests()
			for _, g := range got {
				require.Equal(t, http.MethodPost, g.Method)
				require.Equal(t, "application/json", g.ContentType())
				_, _, ok := route(g.Path)
				require.True(t, ok, g.Path)
				require.Equal(t, providertest.Key(key, tt.key), apiKey(g))
			}
			if !providertest.RequireOutcome(t, err, "gemini", tt.wantKind, tt.wantIn, tt.wantWait) {
				return
			}
			tt.check(t, got, imgs)
		})
	}
}
