package stability_test

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/provider/providerhttp"
	"github.com/designerbff/pipeline/shared/provider/providertest"
	"github.com/designerbff/pipeline/shared/provider/stability"
)

const key = "sk-stability-test"

type seen struct {
	path, auth, accept string
	fields             []map[string]string
	file               []byte
	fileType           string
	calls              int
}

// fakeStability answers POST /v2beta/stable-image/generate/{sd3,core,ultra};
// it accepts only multipart/form-data, as the real API.
func fakeStability(t *testing.T, respond func(w http.ResponseWriter, s *seen)) (*httptest.Server, *seen) {
	t.Helper()
	s := &seen{}
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		s.calls++
		s.path, s.auth, s.accept = r.URL.Path, r.Header.Get("authorization"), r.Header.Get("accept")
		require.True(t, strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data"), "content type %q", r.Header.Get("Content-Type"))
		require.NoError(t, r.ParseMultipartForm(10<<20))
		f := map[string]string{}
		for k, v := range r.MultipartForm.Value {
			f[k] = v[0]
		}
		s.fields = append(s.fields, f)
		if fh := r.MultipartForm.File["image"]; len(fh) == 1 {
			file, err := fh[0].Open()
			require.NoError(t, err)
			s.file, _ = io.ReadAll(file)
			s.fileType = fh[0].Header.Get("Content-Type")
		}
		respond(w, s)
	}))
	t.Cleanup(srv.Close)
	return srv, s
}

func bytesReply(t *testing.T, finish string) func(http.ResponseWriter, *seen) {
	return func(w http.ResponseWriter, s *seen) {
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("finish-reason", finish)
		w.Header().Set("seed", s.fields[len(s.fields)-1]["seed"])
		_, _ = w.Write(providertest.PNG(t, 32, 24, uint8(s.calls*60)))
	}
}

func jsonReply(status int, body string, headers ...string) func(http.ResponseWriter, *seen) {
	return func(w http.ResponseWriter, _ *seen) { providertest.WriteJSON(w, status, body, headers...) }
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	ref := providertest.PNG(t, 64, 64, 90)
	tests := []struct {
		name      string
		respond   func(*testing.T) func(http.ResponseWriter, *seen)
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
		{name: "one image, text only multipart", respond: func(t *testing.T) func(http.ResponseWriter, *seen) { return bytesReply(t, "SUCCESS") },
			req: generation.ProviderRequest{Prompt: "a navy coat", NegativePrompt: "text", Seed: 41, Width: 768, Height: 1024},
			check: func(t *testing.T, s *seen, imgs []generation.Image) {
				require.Equal(t, "/v2beta/stable-image/generate/sd3", s.path)
				require.Equal(t, "image/*", s.accept)
				require.Equal(t, map[string]string{"prompt": "a navy coat", "model": "sd3.5-large", "seed": "42", "output_format": "png",
					"negative_prompt": "text", "mode": "text-to-image", "aspect_ratio": "4:5"}, s.fields[0])
				require.Nil(t, s.file)
				require.Len(t, imgs, 1)
				require.Equal(t, "image/png", imgs[0].ContentType)
				require.Equal(t, [2]int{32, 24}, [2]int{imgs[0].Width, imgs[0].Height})
				require.InDelta(t, 0.065, imgs[0].CostUSD, 1e-9)
			}},
		{name: "several images: consecutive seeds", n: 3, wantCalls: 3, respond: func(t *testing.T) func(http.ResponseWriter, *seen) { return bytesReply(t, "SUCCESS") },
			req: generation.ProviderRequest{Prompt: "coat", Seed: 10},
			check: func(t *testing.T, s *seen, imgs []generation.Image) {
				require.Len(t, imgs, 3)
				require.Equal(t, []string{"11", "12", "13"}, []string{s.fields[0]["seed"], s.fields[1]["seed"], s.fields[2]["seed"]})
				require.NotEqual(t, imgs[0].Bytes, imgs[2].Bytes)
			}},
		{name: "turbo takes no negative prompt", respond: func(t *testing.T) func(http.ResponseWriter, *seen) { return bytesReply(t, "SUCCESS") },
			req: generation.ProviderRequest{Prompt: "coat", NegativePrompt: "text", Model: "sd3.5-large-turbo"},
			check: func(t *testing.T, s *seen, imgs []generation.Image) {
				require.NotContains(t, s.fields[0], "negative_prompt")
				require.Equal(t, "sd3.5-large-turbo", s.fields[0]["model"])
				require.InDelta(t, 0.04, imgs[0].CostUSD, 1e-9)
			}},
		{name: "reference image: image-to-image", respond: func(t *testing.T) func(http.ResponseWriter, *seen) { return bytesReply(t, "SUCCESS") },
			req: generation.ProviderRequest{Prompt: "same coat", Reference: ref, ReferenceContentType: "image/png", Width: 1024, Height: 512},
			check: func(t *testing.T, s *seen, _ []generation.Image) {
				require.Equal(t, "image-to-image", s.fields[0]["mode"])
				require.Equal(t, "0.6", s.fields[0]["strength"])
				require.NotContains(t, s.fields[0], "aspect_ratio", "aspect_ratio is for text-to-image only")
				require.Equal(t, ref, s.file)
				require.Equal(t, "image/png", s.fileType)
			}},
		{name: "base64 JSON form", respond: func(t *testing.T) func(http.ResponseWriter, *seen) {
			return jsonReply(200, `{"image": "`+base64.StdEncoding.EncodeToString(providertest.PNG(t, 8, 8, 1))+`", "finish_reason": "SUCCESS", "seed": 42}`)
		}, check: func(t *testing.T, _ *seen, imgs []generation.Image) { require.Equal(t, 8, imgs[0].Width) }},
		{name: "CONTENT_FILTERED header on a 200", respond: func(t *testing.T) func(http.ResponseWriter, *seen) { return bytesReply(t, "CONTENT_FILTERED") },
			wantKind: generation.ProviderFiltered, wantIn: "CONTENT_FILTERED"},
		{name: "CONTENT_FILTERED in the JSON form", respond: func(t *testing.T) func(http.ResponseWriter, *seen) {
			return jsonReply(200, `{"image": "`+base64.StdEncoding.EncodeToString(providertest.PNG(t, 8, 8, 1))+`", "finish_reason": "CONTENT_FILTERED", "seed": 42}`)
		}, wantKind: generation.ProviderFiltered, wantIn: "CONTENT_FILTERED"},
		{name: "403 content moderation", respond: func(*testing.T) func(http.ResponseWriter, *seen) {
			return jsonReply(403, `{"id": "a1b2", "name": "content_moderation", "errors": ["Your request was flagged by our content moderation system, as a result your request was denied and you were not charged."]}`)
		}, wantKind: generation.ProviderFiltered, wantIn: "content_moderation: Your request was flagged"},
		{name: "429 with Retry-After", respond: func(*testing.T) func(http.ResponseWriter, *seen) {
			return jsonReply(429, `{"id": "c3", "name": "rate_limit_exceeded", "errors": ["You have exceeded the rate limit of 150 requests within a 10 second period."]}`, "Retry-After", "5")
		}, wantKind: generation.ProviderThrottled, wantWait: 5 * time.Second},
		{name: "429 without Retry-After: the 60 s lockout", respond: func(*testing.T) func(http.ResponseWriter, *seen) {
			return jsonReply(429, `{"id": "c3", "name": "rate_limit_exceeded", "errors": ["You have exceeded the rate limit."]}`)
		}, wantKind: generation.ProviderThrottled, wantWait: 60 * time.Second, wantIn: "rate_limit_exceeded"},
		{name: "500", respond: func(*testing.T) func(http.ResponseWriter, *seen) {
			return jsonReply(500, `{"id": "d4", "name": "internal_error", "errors": ["An unexpected server error occurred."]}`)
		}, wantKind: generation.ProviderUnavailable, wantIn: "internal_error"},
		{name: "503 without an envelope", respond: func(*testing.T) func(http.ResponseWriter, *seen) {
			return jsonReply(503, `upstream connect error`)
		}, wantKind: generation.ProviderUnavailable, wantIn: "HTTP 503"},
		{name: "timeout", maxCall: 100 * time.Millisecond, respond: func(t *testing.T) func(http.ResponseWriter, *seen) {
			return func(w http.ResponseWriter, s *seen) {
				time.Sleep(400 * time.Millisecond)
				bytesReply(t, "SUCCESS")(w, s)
			}
		}, wantKind: generation.ProviderUnavailable, wantIn: "timeout"},
		{name: "malformed JSON", respond: func(*testing.T) func(http.ResponseWriter, *seen) { return jsonReply(200, `{"image": "iVBO`) },
			wantKind: generation.ProviderUnavailable, wantIn: "malformed"},
		{name: "empty image", respond: func(*testing.T) func(http.ResponseWriter, *seen) {
			return func(w http.ResponseWriter, _ *seen) {
				w.Header().Set("Content-Type", "image/png")
				w.Header().Set("finish-reason", "SUCCESS")
			}
		}, wantKind: generation.ProviderUnavailable, wantIn: "no image"},
		{name: "retired model", req: generation.ProviderRequest{Prompt: "coat", Model: "sd3-medium"}, respond: func(*testing.T) func(http.ResponseWriter, *seen) {
			return jsonReply(404, `{"id": "e5", "name": "not_found", "errors": ["model sd3-medium is not available"]}`)
		}, wantKind: generation.ProviderModelRetired, wantIn: "not_found"},
		{name: "payment required", respond: func(*testing.T) func(http.ResponseWriter, *seen) {
			return jsonReply(402, `{"id": "f6", "name": "payment_required", "errors": ["You lack sufficient credits to make this request."]}`)
		}, wantKind: generation.ProviderQuota, wantIn: "payment_required"},
		{name: "invalid parameters", respond: func(*testing.T) func(http.ResponseWriter, *seen) {
			return jsonReply(400, `{"id": "g7", "name": "bad_request", "errors": ["prompt: cannot be empty"]}`)
		}, wantKind: generation.ProviderInvalidRequest, wantIn: "bad_request"},
		{name: "bad key", key: "sk-wrong", respond: func(*testing.T) func(http.ResponseWriter, *seen) {
			return func(w http.ResponseWriter, s *seen) {
				require.Equal(t, "Bearer sk-wrong", s.auth)
				jsonReply(401, `{"id": "h8", "name": "unauthorized", "errors": ["authorization: invalid or missing header value"]}`)(w, s)
			}
		}, wantKind: generation.ProviderAuth, wantIn: "unauthorized"},
		{name: "no key: no call", key: "-", respond: func(t *testing.T) func(http.ResponseWriter, *seen) { return bytesReply(t, "SUCCESS") },
			wantKind: generation.ProviderAuth, wantIn: "STABILITY_API_KEY is not set", wantCalls: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, s := fakeStability(t, tt.respond(t))
			p := stability.New(stability.Options{APIKey: providertest.Key(key, tt.key), BaseURL: srv.URL, HTTP: providerhttp.Caller{MaxCall: tt.maxCall, Local: true}})
			imgs, err := p.GenerateN(context.Background(), providertest.Request(tt.req), max(tt.n, 1))
			require.Equal(t, providertest.Calls(tt.wantCalls), s.calls)
			if tt.wantKind != "" {
				providertest.RequireProviderError(t, err, "stability", tt.wantKind, tt.wantIn, tt.wantWait)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "Bearer "+key, s.auth)
			tt.check(t, s, imgs)
		})
	}
}

func TestSeedRange(t *testing.T) {
	t.Parallel()
	for _, seed := range []int64{0, 1, -1, 4294967293, 4294967294, 1 << 62} {
		s := stability.Seed(seed)
		require.GreaterOrEqual(t, s, uint64(1))
		require.LessOrEqual(t, s, uint64(4294967294))
	}
	require.NotEqual(t, stability.Seed(5), stability.Seed(6))
}
