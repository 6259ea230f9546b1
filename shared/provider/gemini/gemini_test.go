package gemini_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/provider/gemini"
	"github.com/designerbff/pipeline/shared/provider/providerhttp"
	"github.com/designerbff/pipeline/shared/provider/providertest"
)

const key = "AIza-test"

type seen struct {
	paths []string
	keys  []string
	body  map[string]any
	calls int
}

// fakeGoogle answers POST /v1beta/models/{model}:{generateContent|predict},
// requiring the API key in x-goog-api-key or ?key=.
func fakeGoogle(t *testing.T, respond func(w http.ResponseWriter, model, method string, s *seen)) (*httptest.Server, *seen) {
	t.Helper()
	s := &seen{}
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		s.calls++
		s.paths = append(s.paths, r.URL.Path)
		k := r.Header.Get("x-goog-api-key")
		if k == "" {
			k = r.URL.Query().Get("key")
		}
		s.keys = append(s.keys, k)
		require.Equal(t, http.MethodPost, r.Method)
		require.Equal(t, "application/json", r.Header.Get("Content-Type"))
		rest, ok := strings.CutPrefix(r.URL.Path, "/v1beta/models/")
		require.True(t, ok, r.URL.Path)
		model, method, ok := strings.Cut(rest, ":")
		require.True(t, ok, r.URL.Path)
		s.body = nil
		require.NoError(t, json.NewDecoder(r.Body).Decode(&s.body))
		respond(w, model, method, s)
	}))
	t.Cleanup(srv.Close)
	return srv, s
}

func reply(status int, body string) func(http.ResponseWriter, string, string, *seen) {
	return func(w http.ResponseWriter, _, _ string, _ *seen) {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func imageReply(t *testing.T, snake bool) func(http.ResponseWriter, string, string, *seen) {
	return func(w http.ResponseWriter, _, _ string, s *seen) {
		data := base64.StdEncoding.EncodeToString(providertest.PNG(t, 40, 30, uint8(s.calls*50)))
		inline := fmt.Sprintf(`"inlineData": {"mimeType": "image/png", "data": %q}`, data)
		if snake {
			inline = fmt.Sprintf(`"inline_data": {"mime_type": "image/png", "data": %q}`, data)
		}
		reply(200, `{"candidates": [{"content": {"role": "model", "parts": [{"text": "Here is your coat."}, {`+inline+`}]}, "finishReason": "STOP", "index": 0}],
			"usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 1290, "totalTokenCount": 1302, "candidatesTokensDetails": [{"modality": "IMAGE", "tokenCount": 1290}]},
			"modelVersion": "gemini-3.1-flash-image", "responseId": "abc"}`)(w, "", "", s)
	}
}

func googleError(status int, grpc, msg string, details ...string) func(http.ResponseWriter, string, string, *seen) {
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
		respond   func(*testing.T) func(http.ResponseWriter, string, string, *seen)
		req       generation.ProviderRequest
		n         int
		key       string
		maxCall   time.Duration
		wantKind  generation.ProviderErrorKind
		wantIn    string
		wantWait  time.Duration
		wantCalls int
		check     func(t *testing.T, s *seen, imgs []generation.Image)
	}{
		{name: "one image", respond: func(t *testing.T) func(http.ResponseWriter, string, string, *seen) { return imageReply(t, false) },
			req: generation.ProviderRequest{Prompt: "a navy coat", NegativePrompt: "text", Width: 1600, Height: 900},
			check: func(t *testing.T, s *seen, imgs []generation.Image) {
				require.Equal(t, []string{"/v1beta/models/gemini-3.1-flash-image:generateContent"}, s.paths)
				ps := parts(t, s.body)
				require.Len(t, ps, 1)
				require.Equal(t, "a navy coat\n\nAvoid: text", ps[0].(map[string]any)["text"])
				cfg := s.body["generationConfig"].(map[string]any)
				require.Equal(t, []any{"TEXT", "IMAGE"}, cfg["responseModalities"])
				require.Equal(t, map[string]any{"aspectRatio": "16:9"}, cfg["imageConfig"])
				require.Len(t, imgs, 1)
				require.Equal(t, "image/png", imgs[0].ContentType)
				require.Equal(t, [2]int{40, 30}, [2]int{imgs[0].Width, imgs[0].Height})
				require.InDelta(t, 0.067, imgs[0].CostUSD, 1e-9)
				require.Equal(t, "gemini-3.1-flash-image", imgs[0].Model)
			}},
		{name: "several images: one call each", n: 3, respond: func(t *testing.T) func(http.ResponseWriter, string, string, *seen) { return imageReply(t, false) },
			wantCalls: 3,
			check: func(t *testing.T, s *seen, imgs []generation.Image) {
				require.Len(t, imgs, 3)
				require.NotEqual(t, imgs[0].Bytes, imgs[1].Bytes)
			}},
		{name: "snake_case reply parts are read", respond: func(t *testing.T) func(http.ResponseWriter, string, string, *seen) { return imageReply(t, true) },
			check: func(t *testing.T, _ *seen, imgs []generation.Image) { require.Len(t, imgs, 1) }},
		{name: "reference image as inline data", req: generation.ProviderRequest{Prompt: "same coat", Reference: ref, ReferenceContentType: "image/png"},
			respond: func(t *testing.T) func(http.ResponseWriter, string, string, *seen) { return imageReply(t, false) },
			check: func(t *testing.T, s *seen, _ []generation.Image) {
				ps := parts(t, s.body)
				require.Len(t, ps, 2)
				require.Contains(t, ps[0].(map[string]any)["text"], "same coat")
				mime, data := inline(ps[1].(map[string]any))
				require.Equal(t, "image/png", mime)
				require.Equal(t, base64.StdEncoding.EncodeToString(ref), data)
			}},
		{name: "prompt blocked: no candidates", respond: func(*testing.T) func(http.ResponseWriter, string, string, *seen) {
			return reply(200, `{"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "usageMetadata": {"promptTokenCount": 9}}`)
		}, wantKind: generation.ProviderFiltered, wantIn: "blockReason PROHIBITED_CONTENT"},
		{name: "IMAGE_SAFETY with no content", respond: func(*testing.T) func(http.ResponseWriter, string, string, *seen) {
			return reply(200, `{"candidates": [{"finishReason": "IMAGE_SAFETY", "index": 0}]}`)
		}, wantKind: generation.ProviderFiltered, wantIn: "finishReason IMAGE_SAFETY"},
		{name: "NO_IMAGE", respond: func(*testing.T) func(http.ResponseWriter, string, string, *seen) {
			return reply(200, `{"candidates": [{"content": {"role": "model", "parts": []}, "finishReason": "NO_IMAGE"}]}`)
		}, wantKind: generation.ProviderFiltered, wantIn: "finishReason NO_IMAGE"},
		{name: "STOP with only text is filtered by content", respond: func(*testing.T) func(http.ResponseWriter, string, string, *seen) {
			return reply(200, `{"candidates": [{"content": {"role": "model", "parts": [{"text": "I can't create images of that person."}]}, "finishReason": "STOP"}]}`)
		}, wantKind: generation.ProviderFiltered, wantIn: "no image part (finishReason STOP): I can't create images"},
		{name: "429 with RetryInfo", respond: func(*testing.T) func(http.ResponseWriter, string, string, *seen) {
			return googleError(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).", retryInfo)
		}, wantKind: generation.ProviderThrottled, wantWait: 38 * time.Second, wantIn: "RESOURCE_EXHAUSTED"},
		{name: "429 without RetryInfo", respond: func(*testing.T) func(http.ResponseWriter, string, string, *seen) {
			return googleError(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted.")
		}, wantKind: generation.ProviderThrottled, wantWait: 0},
		{name: "429 on a daily quota is not retried", respond: func(*testing.T) func(http.ResponseWriter, string, string, *seen) {
			return googleError(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota.",
				`{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_requests_per_model_per_day", "quotaId": "GenerateRequestsPerDayPerProjectPerModel"}]}`, retryInfo)
		}, wantKind: generation.ProviderQuota},
		{name: "500", respond: func(*testing.T) func(http.ResponseWriter, string, string, *seen) {
			return googleError(500, "INTERNAL", "An internal error has occurred.")
		}, wantKind: generation.ProviderUnavailable, wantIn: "INTERNAL"},
		{name: "503 overloaded", respond: func(*testing.T) func(http.ResponseWriter, string, string, *seen) {
			return googleError(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")
		}, wantKind: generation.ProviderUnavailable, wantIn: "overloaded"},
		{name: "timeout", maxCall: 100 * time.Millisecond, respond: func(t *testing.T) func(http.ResponseWriter, string, string, *seen) {
			return func(w http.ResponseWriter, m, me string, s *seen) {
				time.Sleep(400 * time.Millisecond)
				imageReply(t, false)(w, m, me, s)
			}
		}, wantKind: generation.ProviderUnavailable, wantIn: "timeout"},
		{name: "malformed JSON", respond: func(*testing.T) func(http.ResponseWriter, string, string, *seen) {
			return reply(200, `{"candidates": [{"content": `)
		}, wantKind: generation.ProviderUnavailable, wantIn: "malformed"},
		{name: "empty candidate list", respond: func(*testing.T) func(http.ResponseWriter, string, string, *seen) {
			return reply(200, `{"candidates": [], "usageMetadata": {"promptTokenCount": 9}}`)
		}, wantKind: generation.ProviderUnavailable, wantIn: "no candidates"},
		{name: "retired Gemini model", req: generation.ProviderRequest{Prompt: "coat", Model: "gemini-2.5-flash-image"},
			respond: func(*testing.T) func(http.ResponseWriter, string, string, *seen) {
				return func(w http.ResponseWriter, model, method string, s *seen) {
					require.Equal(t, "gemini-2.5-flash-image", model)
					require.Equal(t, "generateContent", method)
					googleError(404, "NOT_FOUND", "models/gemini-2.5-flash-image is not found for API version v1beta, or is not supported for generateContent.")(w, model, method, s)
				}
			}, wantKind: generation.ProviderModelRetired, wantIn: "NOT_FOUND"},
		{name: "retired Imagen model on :predict", req: generation.ProviderRequest{Prompt: "coat", Model: "imagen-4.0-generate-001"},
			respond: func(*testing.T) func(http.ResponseWriter, string, string, *seen) {
				return func(w http.ResponseWriter, model, method string, s *seen) {
					require.Equal(t, "predict", method)
					require.Equal(t, "coat", s.body["instances"].([]any)[0].(map[string]any)["prompt"])
					require.Equal(t, float64(1), s.body["parameters"].(map[string]any)["sampleCount"])
					googleError(404, "NOT_FOUND", "models/imagen-4.0-generate-001 is not found for API version v1beta.")(w, model, method, s)
				}
			}, wantKind: generation.ProviderModelRetired},
		{name: "Imagen form: one image, one slot filtered", n: 2, req: generation.ProviderRequest{Prompt: "coat", Model: "imagen-test"},
			respond: func(t *testing.T) func(http.ResponseWriter, string, string, *seen) {
				return func(w http.ResponseWriter, m, me string, s *seen) {
					require.Equal(t, true, s.body["parameters"].(map[string]any)["includeRaiReason"])
					reply(200, fmt.Sprintf(`{"predictions": [{"bytesBase64Encoded": %q, "mimeType": "image/png"}, {"raiFilteredReason": "39322892: contained people"}]}`,
						base64.StdEncoding.EncodeToString(providertest.PNG(t, 16, 16, 3))))(w, m, me, s)
				}
			},
			check: func(t *testing.T, s *seen, imgs []generation.Image) {
				require.Equal(t, []string{"/v1beta/models/imagen-test:predict"}, s.paths)
				require.Len(t, imgs, 1)
			}},
		{name: "Imagen form: every slot filtered, no predictions key", req: generation.ProviderRequest{Prompt: "coat", Model: "imagen-test"},
			respond:  func(*testing.T) func(http.ResponseWriter, string, string, *seen) { return reply(200, `{}`) },
			wantKind: generation.ProviderFiltered, wantIn: "no predictions"},
		{name: "bad key", key: "AIza-wrong", respond: func(*testing.T) func(http.ResponseWriter, string, string, *seen) {
			return func(w http.ResponseWriter, m, me string, s *seen) {
				require.Equal(t, "AIza-wrong", s.keys[0])
				googleError(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
					`{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"}`)(w, m, me, s)
			}
		}, wantKind: generation.ProviderAuth, wantIn: "API key not valid"},
		{name: "invalid argument", respond: func(*testing.T) func(http.ResponseWriter, string, string, *seen) {
			return googleError(400, "INVALID_ARGUMENT", "Request contains an invalid argument.")
		}, wantKind: generation.ProviderInvalidRequest},
		{name: "a dot-dot model: no call", req: generation.ProviderRequest{Prompt: "coat", Model: ".."},
			respond:  func(t *testing.T) func(http.ResponseWriter, string, string, *seen) { return imageReply(t, false) },
			wantKind: generation.ProviderInvalidRequest, wantIn: "path segment", wantCalls: -1},
		{name: "a model stays one path segment", req: generation.ProviderRequest{Prompt: "coat", Model: "x/../../v1/files?y"},
			respond: func(t *testing.T) func(http.ResponseWriter, string, string, *seen) { return imageReply(t, false) },
			check: func(t *testing.T, s *seen, _ []generation.Image) {
				require.Equal(t, []string{"/v1beta/models/x/../../v1/files?y:generateContent"}, s.paths, "decoded: the escaped %2F and %3F reached the server")
			}},
		{name: "no key: no call", key: "-", respond: func(t *testing.T) func(http.ResponseWriter, string, string, *seen) { return imageReply(t, false) },
			wantKind: generation.ProviderAuth, wantIn: "GEMINI_API_KEY is not set", wantCalls: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, s := fakeGoogle(t, tt.respond(t))
			p := gemini.New(gemini.Options{APIKey: providertest.Key(key, tt.key), BaseURL: srv.URL, HTTP: providerhttp.Caller{MaxCall: tt.maxCall, Local: true}})
			imgs, err := p.GenerateN(context.Background(), providertest.Request(tt.req), max(tt.n, 1))
			require.Equal(t, providertest.Calls(tt.wantCalls), s.calls)
			if tt.wantKind != "" {
				providertest.RequireProviderError(t, err, "gemini", tt.wantKind, tt.wantIn, tt.wantWait)
				return
			}
			require.NoError(t, err)
			for _, k := range s.keys {
				require.Equal(t, key, k)
			}
			tt.check(t, s, imgs)
		})
	}
}
