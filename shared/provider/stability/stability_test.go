package stability_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/provider/providerhttp"
	"github.com/designerbff/pipeline/shared/provider/providertest"
	"github.com/designerbff/pipeline/shared/provider/stability"
)

const key = "sk-stability-test"

func bytesReply(t *testing.T, finish string) providertest.Responder {
	return func(w http.ResponseWriter, got providertest.Recorded) {
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("finish-reason", finish)
		w.Header().Set("seed", got.Fields["seed"])
		_, _ = w.Write(providertest.PNG(t, 32, 24, uint8(got.N*60)))
	}
}

func jsonReply(status int, body string, headers ...string) providertest.Responder {
	return func(w http.ResponseWriter, _ providertest.Recorded) {
		providertest.WriteJSON(w, status, body, headers...)
	}
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	ref := providertest.PNG(t, 64, 64, 90)
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
		{name: "one image, text only multipart", respond: func(t *testing.T) providertest.Responder { return bytesReply(t, "SUCCESS") },
			req: generation.ProviderRequest{Prompt: "a navy coat", NegativePrompt: "text", Seed: 41, Width: 768, Height: 1024},
			check: func(t *testing.T, got []providertest.Recorded, imgs []generation.Image) {
				require.Equal(t, "/v2beta/stable-image/generate/sd3", got[0].Path)
				require.Equal(t, "image/*", got[0].Header.Get("Accept"))
				require.Equal(t, map[string]string{"prompt": "a navy coat", "model": "sd3.5-large", "seed": "42", "output_format": "png",
					"negative_prompt": "text", "mode": "text-to-image", "aspect_ratio": "4:5"}, got[0].Fields)
				require.Nil(t, got[0].Files)
				require.Len(t, imgs, 1)
				require.Equal(t, "image/png", imgs[0].ContentType)
				require.Equal(t, [2]int{32, 24}, [2]int{imgs[0].Width, imgs[0].Height})
				require.InDelta(t, 0.065, imgs[0].CostUSD, 1e-9)
			}},
		{name: "several images: consecutive seeds", n: 3, wantCalls: 3, respond: func(t *testing.T) providertest.Responder { return bytesReply(t, "SUCCESS") },
			req: generation.ProviderRequest{Prompt: "coat", Seed: 10},
			check: func(t *testing.T, got []providertest.Recorded, imgs []generation.Image) {
				require.Len(t, imgs, 3)
				require.Equal(t, []string{"11", "12", "13"}, []string{got[0].Fields["seed"], got[1].Fields["seed"], got[2].Fields["seed"]})
				require.NotEqual(t, imgs[0].Bytes, imgs[2].Bytes)
			}},
		{name: "turbo takes no negative prompt", respond: func(t *testing.T) providertest.Responder { return bytesReply(t, "SUCCESS") },
			req: generation.ProviderRequest{Prompt: "coat", NegativePrompt: "text", Model: "sd3.5-large-turbo"},
			check: func(t *testing.T, got []providertest.Recorded, imgs []generation.Image) {
				require.NotContains(t, got[0].Fields, "negative_prompt")
				require.Equal(t, "sd3.5-large-turbo", got[0].Fields["model"])
				require.InDelta(t, 0.04, imgs[0].CostUSD, 1e-9)
			}},
		{name: "reference image: image-to-image", respond: func(t *testing.T) providertest.Responder { return bytesReply(t, "SUCCESS") },
			req: generation.ProviderRequest{Prompt: "same coat", Reference: ref, ReferenceContentType: "image/png", Width: 1024, Height: 512},
			check: func(t *testing.T, got []providertest.Recorded, _ []generation.Image) {
				require.Equal(t, "image-to-image", got[0].Fields["mode"])
				require.Equal(t, "0.6", got[0].Fields["strength"])
				require.NotContains(t, got[0].Fields, "aspect_ratio", "aspect_ratio is for text-to-image only")
				require.Equal(t, map[string]providertest.File{"image": {Bytes: ref, ContentType: "image/png"}}, got[0].Files)
			}},
		{name: "base64 JSON form", respond: func(t *testing.T) providertest.Responder {
			return jsonReply(200, `{"image": "`+base64.StdEncoding.EncodeToString(providertest.PNG(t, 8, 8, 1))+`", "finish_reason": "SUCCESS", "seed": 42}`)
		}, check: func(t *testing.T, _ []providertest.Recorded, imgs []generation.Image) {
			require.Equal(t, 8, imgs[0].Width)
		}},
		{name: "CONTENT_FILTERED header on a 200", respond: func(t *testing.T) providertest.Responder { return bytesReply(t, "CONTENT_FILTERED") },
			wantKind: generation.ProviderFiltered, wantIn: "CONTENT_FILTERED"},
		{name: "CONTENT_FILTERED in the JSON form", respond: func(t *testing.T) providertest.Responder {
			return jsonReply(200, `{"image": "`+base64.StdEncoding.EncodeToString(providertest.PNG(t, 8, 8, 1))+`", "finish_reason": "CONTENT_FILTERED", "seed": 42}`)
		}, wantKind: generation.ProviderFiltered, wantIn: "CONTENT_FILTERED"},
		{name: "403 content moderation", respond: func(*testing.T) providertest.Responder {
			return jsonReply(403, `{"id": "a1b2", "name": "content_moderation", "errors": ["Your request was flagged by our content moderation system, as a result your request was denied and you were not charged."]}`)
		}, wantKind: generation.ProviderFiltered, wantIn: "content_moderation: Your request was flagged"},
		{name: "429 with Retry-After", respond: func(*testing.T) providertest.Responder {
			return jsonReply(429, `{"id": "c3", "name": "rate_limit_exceeded", "errors": ["You have exceeded the rate limit of 150 requests within a 10 second period."]}`, "Retry-After", "5")
		}, wantKind: generation.ProviderThrottled, wantWait: 5 * time.Second},
		{name: "429 without Retry-After: the 60 s lockout", respond: func(*testing.T) providertest.Responder {
			return jsonReply(429, `{"id": "c3", "name": "rate_limit_exceeded", "errors": ["You have exceeded the rate limit."]}`)
		}, wantKind: generation.ProviderThrottled, wantWait: 60 * time.Second, wantIn: "rate_limit_exceeded"},
		{name: "500", respond: func(*testing.T) providertest.Responder {
			return jsonReply(500, `{"id": "d4", "name": "internal_error", "errors": ["An unexpected server error occurred."]}`)
		}, wantKind: generation.ProviderUnavailable, wantIn: "internal_error"},
		{name: "503 without an envelope", respond: func(*testing.T) providertest.Responder {
			return jsonReply(503, `upstream connect error`)
		}, wantKind: generation.ProviderUnavailable, wantIn: "HTTP 503"},
		{name: "timeout", maxCall: 100 * time.Millisecond, respond: func(t *testing.T) providertest.Responder {
			return func(w http.ResponseWriter, got providertest.Recorded) {
				time.Sleep(400 * time.Millisecond)
				bytesReply(t, "SUCCESS")(w, got)
			}
		}, wantKind: generation.ProviderUnavailable, wantIn: "timeout"},
		{name: "malformed JSON", respond: func(*testing.T) providertest.Responder { return jsonReply(200, `{"image": "iVBO`) },
			wantKind: generation.ProviderUnavailable, wantIn: "malformed"},
		{name: "empty image", respond: func(*testing.T) providertest.Responder {
			return func(w http.ResponseWriter, _ providertest.Recorded) {
				w.Header().Set("Content-Type", "image/png")
				w.Header().Set("finish-reason", "SUCCESS")
			}
		}, wantKind: generation.ProviderUnavailable, wantIn: "no image"},
		{name: "retired model", req: generation.ProviderRequest{Prompt: "coat", Model: "sd3-medium"}, respond: func(*testing.T) providertest.Responder {
			return jsonReply(404, `{"id": "e5", "name": "not_found", "errors": ["model sd3-medium is not available"]}`)
		}, wantKind: generation.ProviderModelRetired, wantIn: "not_found"},
		{name: "payment required", respond: func(*testing.T) providertest.Responder {
			return jsonReply(402, `{"id": "f6", "name": "payment_required", "errors": ["You lack sufficient credits to make this request."]}`)
		}, wantKind: generation.ProviderQuota, wantIn: "payment_required"},
		{name: "invalid parameters", respond: func(*testing.T) providertest.Responder {
			return jsonReply(400, `{"id": "g7", "name": "bad_request", "errors": ["prompt: cannot be empty"]}`)
		}, wantKind: generation.ProviderInvalidRequest, wantIn: "bad_request"},
		{name: "bad key", key: "sk-wrong", respond: func(*testing.T) providertest.Responder {
			return jsonReply(401, `{"id": "h8", "name": "unauthorized", "errors": ["authorization: invalid or missing header value"]}`)
		}, wantKind: generation.ProviderAuth, wantIn: "unauthorized"},
		{name: "no key: no call", key: "-", respond: func(t *testing.T) providertest.Responder { return bytesReply(t, "SUCCESS") },
			wantKind: generation.ProviderAuth, wantIn: "STABILITY_API_KEY is not set", wantCalls: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The fake stands for POST /v2beta/stable-image/generate/{sd3,core,ultra},
			// which accepts only multipart/form-data.
			srv, rec := providertest.Serve(t, tt.respond(t))
			p := stability.New(stability.Options{APIKey: providertest.Key(key, tt.key), BaseURL: srv.URL, HTTP: providerhttp.Caller{MaxCall: tt.maxCall, Local: true}})
			imgs, err := p.GenerateN(context.Background(), providertest.Request(tt.req), max(tt.n, 1))
			require.Equal(t, providertest.Calls(tt.wantCalls), rec.Calls())
			got := rec.Requests()
			for _, g := range got {
				require.Equal(t, http.MethodPost, g.Method)
				require.True(t, strings.HasPrefix(g.ContentType(), "multipart/form-data"), "content type %q", g.ContentType())
				require.Equal(t, "Bearer "+providertest.Key(key, tt.key), g.Header.Get("Authorization"))
			}
			if !providertest.RequireOutcome(t, err, "stability", tt.wantKind, tt.wantIn, tt.wantWait) {
				return
			}
			tt.check(t, got, imgs)
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
