package replicate_test

import (
	"context"
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
	"github.com/designerbff/pipeline/shared/provider/providerhttp"
	"github.com/designerbff/pipeline/shared/provider/providertest"
	"github.com/designerbff/pipeline/shared/provider/replicate"
)

const token = "r8_test"

// fake is Replicate's API: create (official-model route), get, cancel, and
// file downloads under /files/. It records the calls to each API route.
type fake struct {
	t                       *testing.T
	srv                     *httptest.Server
	creates, polls, cancels *providertest.Recorder
	// create answers the create call; poll answers the i-th poll (from 1).
	create func(f *fake, w http.ResponseWriter)
	poll   func(f *fake, w http.ResponseWriter, i int)
}

func newFake(t *testing.T, create func(*fake, http.ResponseWriter), poll func(*fake, http.ResponseWriter, int)) *fake {
	f := &fake{t: t, create: create, poll: poll,
		creates: providertest.NewRecorder(t), polls: providertest.NewRecorder(t), cancels: providertest.NewRecorder(t)}
	mux := http.NewServeMux()
	mux.Handle("POST /v1/models/{owner}/{name}/predictions", f.creates.Handler(func(w http.ResponseWriter, _ providertest.Recorded) {
		f.create(f, w)
	}))
	mux.Handle("GET /v1/predictions/{id}", f.polls.Handler(func(w http.ResponseWriter, got providertest.Recorded) {
		f.poll(f, w, got.N)
	}))
	mux.Handle("POST /v1/predictions/{id}/cancel", f.cancels.Handler(func(w http.ResponseWriter, _ providertest.Recorded) {
		f.prediction(w, 200, "canceled", "null", nil)
	}))
	mux.HandleFunc("GET /files/{name}", func(w http.ResponseWriter, r *http.Request) {
		var shade uint8
		_, _ = fmt.Sscanf(r.PathValue("name"), "out-%d.png", &shade)
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(providertest.PNG(t, 48, 32, shade))
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// prediction writes a prediction object.
func (f *fake) prediction(w http.ResponseWriter, status int, state, output string, errMsg any) {
	e, _ := json.Marshal(errMsg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `{"id": "p1", "model": "black-forest-labs/flux-2-pro", "version": "hidden", "status": %q, "input": {}, "output": %s, "error": %s, "logs": "",
		"metrics": {"predict_time": 4.2}, "created_at": "2026-11-26T12:00:00Z", "urls": {"get": "%s/v1/predictions/p1", "cancel": "%s/v1/predictions/p1/cancel", "stream": ""}}`,
		state, output, e, f.srv.URL, f.srv.URL)
}

// created is the last create call.
func (f *fake) created() providertest.Recorded { return f.creates.Last() }

// input is the last create call's input.
func (f *fake) input() map[string]any {
	in, _ := f.created().JSON["input"].(map[string]any)
	return in
}

// requireAPICalls asserts that every create call sent JSON and that every
// call to the API (create, poll, cancel) carried token.
func (f *fake) requireAPICalls(t *testing.T, token string) {
	t.Helper()
	for _, got := range f.creates.Requests() {
		require.Equal(t, "application/json", got.ContentType())
	}
	for _, rec := range []*providertest.Recorder{f.creates, f.polls, f.cancels} {
		for _, got := range rec.Requests() {
			require.Equal(t, "Bearer "+token, got.Header.Get("Authorization"), "%s %s", got.Method, got.Path)
		}
	}
}

// hosts are the fake's file host, for Options.OutputHosts.
func (f *fake) hosts() []string { return []string{strings.TrimPrefix(f.srv.URL, "http://")} }

func (f *fake) file(n int) string { return fmt.Sprintf(`"%s/files/out-%d.png"`, f.srv.URL, n) }

func problem(status int, title, detail string, headers ...string) func(*fake, http.ResponseWriter) {
	return func(_ *fake, w http.ResponseWriter) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, `{"type": "about:blank", "title": %q, "status": %d, "detail": %q}`, title, status, detail)
	}
}

const e005 = "The input or output was flagged as sensitive. Please try again with different inputs. (E005)"

func noPoll(f *fake, _ http.ResponseWriter, _ int) { f.t.Error("unexpected poll") }

func TestGenerate(t *testing.T) {
	t.Parallel()
	ref := providertest.PNG(t, 20, 20, 77)
	tests := []struct {
		name       string
		create     func(*fake, http.ResponseWriter)
		poll       func(*fake, http.ResponseWriter, int)
		req        generation.ProviderRequest
		n          int
		key        string
		maxCall    time.Duration
		wantKind   generation.ProviderErrorKind
		wantIn     string
		wantWait   time.Duration
		wantCreate int
		check      func(t *testing.T, f *fake, imgs []generation.Image)
	}{
		{name: "one image in sync mode, output a URL", req: generation.ProviderRequest{Prompt: "a navy coat", Seed: 123, Width: 1024, Height: 1024},
			create: func(f *fake, w http.ResponseWriter) { f.prediction(w, 201, "succeeded", f.file(1), nil) }, poll: noPoll,
			check: func(t *testing.T, f *fake, imgs []generation.Image) {
				require.Equal(t, "/v1/models/black-forest-labs/flux-2-pro/predictions", f.created().Path)
				require.Equal(t, "wait=60", f.created().Header.Get("Prefer"))
				require.Equal(t, map[string]any{"prompt": "a navy coat", "seed": float64(123), "aspect_ratio": "1:1", "output_format": "png"}, f.input())
				require.Len(t, imgs, 1)
				require.Equal(t, [2]int{48, 32}, [2]int{imgs[0].Width, imgs[0].Height})
				require.Equal(t, "black-forest-labs/flux-2-pro", imgs[0].Model)
				require.InDelta(t, 0.02, imgs[0].CostUSD, 1e-9)
			}},
		{name: "several images: flux-schnell num_outputs, output a list", n: 3,
			req: generation.ProviderRequest{Prompt: "coat", Model: "black-forest-labs/flux-schnell", Width: 900, Height: 1600},
			create: func(f *fake, w http.ResponseWriter) {
				f.prediction(w, 201, "succeeded", "["+f.file(1)+","+f.file(2)+","+f.file(3)+"]", nil)
			}, poll: noPoll,
			check: func(t *testing.T, f *fake, imgs []generation.Image) {
				require.Equal(t, "/v1/models/black-forest-labs/flux-schnell/predictions", f.created().Path)
				require.Equal(t, float64(3), f.input()["num_outputs"])
				require.Equal(t, "9:16", f.input()["aspect_ratio"])
				require.Len(t, imgs, 3)
				require.NotEqual(t, imgs[0].Bytes, imgs[1].Bytes)
				total := 0.0
				for _, im := range imgs {
					total += im.CostUSD
				}
				require.InDelta(t, 0.009, total, 1e-9)
			}},
		{name: "reference image as a data URI in input_images, billed", req: generation.ProviderRequest{Prompt: "same coat", Reference: ref, ReferenceContentType: "image/png"},
			create: func(f *fake, w http.ResponseWriter) { f.prediction(w, 201, "succeeded", f.file(1), nil) }, poll: noPoll,
			check: func(t *testing.T, f *fake, imgs []generation.Image) {
				require.Equal(t, []any{providerhttp.DataURI("image/png", ref)}, f.input()["input_images"])
				require.InDelta(t, 0.04, imgs[0].CostUSD, 1e-9)
			}},
		{name: "still processing after the wait: polled until it succeeds, data: URI output",
			create: func(f *fake, w http.ResponseWriter) { f.prediction(w, 201, "processing", "null", nil) },
			poll: func(f *fake, w http.ResponseWriter, i int) {
				if i < 3 {
					f.prediction(w, 200, "processing", "null", nil)
					return
				}
				f.prediction(w, 200, "succeeded", fmt.Sprintf("%q", providerhttp.DataURI("image/png", providertest.PNG(f.t, 10, 12, 5))), nil)
			},
			check: func(t *testing.T, f *fake, imgs []generation.Image) {
				require.Equal(t, 3, f.polls.Calls())
				require.Equal(t, [2]int{10, 12}, [2]int{imgs[0].Width, imgs[0].Height})
				f.requireAPICalls(t, token)
			}},
		{name: "a poll answering 503 is polled again",
			create: func(f *fake, w http.ResponseWriter) { f.prediction(w, 201, "starting", "null", nil) },
			poll: func(f *fake, w http.ResponseWriter, i int) {
				if i == 1 {
					problem(503, "Service Unavailable", "try later")(f, w)
					return
				}
				f.prediction(w, 200, "succeeded", f.file(4), nil)
			},
			check: func(t *testing.T, f *fake, imgs []generation.Image) {
				require.Equal(t, 2, f.polls.Calls())
				require.Len(t, imgs, 1)
			}},
		{name: "E005 in sync mode", create: func(f *fake, w http.ResponseWriter) { f.prediction(w, 201, "failed", "null", e005) }, poll: noPoll,
			wantKind: generation.ProviderFiltered, wantIn: "(E005)"},
		{name: "E005 after polling", create: func(f *fake, w http.ResponseWriter) { f.prediction(w, 201, "processing", "null", nil) },
			poll:     func(f *fake, w http.ResponseWriter, _ int) { f.prediction(w, 200, "failed", "null", e005) },
			wantKind: generation.ProviderFiltered, wantIn: "flagged as sensitive"},
		{name: "another failure", create: func(f *fake, w http.ResponseWriter) { f.prediction(w, 201, "failed", "null", "CUDA out of memory") }, poll: noPoll,
			wantKind: generation.ProviderUnavailable, wantIn: "prediction failed: CUDA out of memory"},
		{name: "429 with Retry-After", create: problem(429, "Too Many Requests", "Request was throttled.", "Retry-After", "3"), poll: noPoll,
			wantKind: generation.ProviderThrottled, wantWait: 3 * time.Second},
		{name: "429 without Retry-After: the detail's hint", create: problem(429, "", "Request was throttled. Your rate limit resets in ~30s."), poll: noPoll,
			wantKind: generation.ProviderThrottled, wantWait: 30 * time.Second, wantIn: "throttled"},
		{name: "500", create: problem(500, "Internal Server Error", "Something went wrong"), poll: noPoll,
			wantKind: generation.ProviderUnavailable, wantIn: "Internal Server Error"},
		{name: "503", create: problem(503, "Service Unavailable", "Replicate is down for maintenance"), poll: noPoll,
			wantKind: generation.ProviderUnavailable, wantIn: "maintenance"},
		{name: "timeout: cancelled at the deadline", maxCall: 300 * time.Millisecond,
			create: func(f *fake, w http.ResponseWriter) { f.prediction(w, 201, "processing", "null", nil) },
			poll:   func(f *fake, w http.ResponseWriter, _ int) { f.prediction(w, 200, "processing", "null", nil) },
			check:  nil, wantKind: generation.ProviderUnavailable, wantIn: "timeout"},
		{name: "malformed JSON", create: func(_ *fake, w http.ResponseWriter) {
			w.WriteHeader(201)
			_, _ = io.WriteString(w, `{"id": "p1", "status": `)
		}, poll: noPoll,
			wantKind: generation.ProviderUnavailable, wantIn: "malformed"},
		{name: "empty output", create: func(f *fake, w http.ResponseWriter) { f.prediction(w, 201, "succeeded", "[]", nil) }, poll: noPoll,
			wantKind: generation.ProviderUnavailable, wantIn: "no output"},
		{name: "retired or unknown model", req: generation.ProviderRequest{Prompt: "coat", Model: "black-forest-labs/flux-pro"},
			create: problem(404, "Not found", "The requested resource could not be found."), poll: noPoll,
			wantKind: generation.ProviderModelRetired, wantIn: "Not found"},
		{name: "bad token", key: "r8_wrong", create: problem(401, "Unauthenticated", "You did not pass a valid authentication token"), poll: noPoll,
			wantKind: generation.ProviderAuth, wantIn: "valid authentication token"},
		{name: "out of credit", create: problem(402, "Payment Required", "You have insufficient credit to run this model."), poll: noPoll,
			wantKind: generation.ProviderQuota},
		{name: "invalid input", create: problem(422, "Input validation failed", "input.aspect_ratio: must be one of …"), poll: noPoll,
			wantKind: generation.ProviderInvalidRequest},
		{name: "no token: no call", key: "-", create: problem(500, "", ""), poll: noPoll,
			wantKind: generation.ProviderAuth, wantIn: "REPLICATE_API_TOKEN is not set", wantCreate: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, tt.create, tt.poll)
			p := replicate.New(replicate.Options{APIToken: providertest.Key(token, tt.key), BaseURL: f.srv.URL, PollInterval: 10 * time.Millisecond, OutputHosts: f.hosts(),
				HTTP: providerhttp.Caller{MaxCall: tt.maxCall, Local: true}})
			imgs, err := p.GenerateN(context.Background(), providertest.Request(tt.req), max(tt.n, 1))
			require.Equal(t, providertest.Calls(tt.wantCreate), f.creates.Calls(), "one prediction, never a second")
			f.requireAPICalls(t, providertest.Key(token, tt.key))
			if strings.HasPrefix(tt.name, "timeout") {
				require.Equal(t, 1, f.cancels.Calls(), "a prediction nobody waits for is cancelled")
			}
			if !providertest.RequireOutcome(t, err, "replicate", tt.wantKind, tt.wantIn, tt.wantWait) {
				return
			}
			tt.check(t, f, imgs)
		})
	}
}

func TestSeveralImagesNeedAMultiOutputModel(t *testing.T) {
	t.Parallel()
	f := newFake(t, problem(500, "", ""), noPoll)
	p := replicate.New(replicate.Options{APIToken: token, BaseURL: f.srv.URL, HTTP: providerhttp.Caller{Local: true}})
	_, err := p.GenerateN(context.Background(), generation.ProviderRequest{Prompt: "coat"}, 2)
	pe, ok := generation.AsProviderError(err)
	require.True(t, ok)
	require.Equal(t, generation.ProviderInvalidRequest, pe.Kind)
	require.Zero(t, f.creates.Calls())
}

// What Replicate returns does not steer requests: urls.get and urls.cancel
// on another host get neither a poll nor the token, outputs are fetched only
// from the file hosts and never through a redirect to another host, and a
// model cannot name another endpoint. Each fails the candidate with an
// invalid_request outcome (not retried: a retry would pay for another
// prediction) saying what was refused.
func TestRefusesWhatReplicateShouldNotSteer(t *testing.T) {
	t.Parallel()
	var elsewhere struct {
		sync.Mutex
		requests []string
	}
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Lock()
		defer elsewhere.Unlock()
		elsewhere.requests = append(elsewhere.requests, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(providertest.PNG(t, 8, 8, 1))
	}))
	t.Cleanup(other.Close)
	otherHost := strings.TrimPrefix(other.URL, "http://")

	// reply answers a create with urls and output chosen by the case.
	reply := func(state, get, cancel, output string) func(*fake, http.ResponseWriter) {
		return func(_ *fake, w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(201)
			_, _ = fmt.Fprintf(w, `{"id": "p1", "status": %q, "output": %s, "error": null, "urls": {"get": %q, "cancel": %q}}`, state, output, get, cancel)
		}
	}
	tests := []struct {
		name   string
		model  string
		create func(f *fake) func(*fake, http.ResponseWriter)
		wantIn string
	}{
		{name: "urls.get on another host", wantIn: "urls.get refused: host " + otherHost, create: func(*fake) func(*fake, http.ResponseWriter) {
			return reply("processing", other.URL+"/v1/predictions/p1", other.URL+"/v1/predictions/p1/cancel", "null")
		}},
		{name: "urls.get over plain http to the API host's name on another port", wantIn: "urls.get refused", create: func(*fake) func(*fake, http.ResponseWriter) {
			return reply("processing", "http://127.0.0.1:1/v1/predictions/p1", "", "null")
		}},
		{name: "output on another host", wantIn: "output URL refused: host " + otherHost, create: func(f *fake) func(*fake, http.ResponseWriter) {
			return reply("succeeded", f.srv.URL+"/v1/predictions/p1", "", fmt.Sprintf("%q", other.URL+"/files/out-1.png"))
		}},
		{name: "output redirected to another host", wantIn: "redirect from", create: func(f *fake) func(*fake, http.ResponseWriter) {
			return reply("succeeded", f.srv.URL+"/v1/predictions/p1", "", fmt.Sprintf("%q", f.srv.URL+"/redirect"))
		}},
		{name: "output over another scheme", wantIn: "output URL refused: file URL", create: func(f *fake) func(*fake, http.ResponseWriter) {
			return reply("succeeded", f.srv.URL+"/v1/predictions/p1", "", `"file:///etc/passwd"`)
		}},
		{name: "a model naming a deployment", model: "../../v1/deployments/acme/x", wantIn: "not owner/name"},
		{name: "a model with a query", model: "acme/x?version=1", wantIn: "not owner/name"},
		{name: "a model of three parts", model: "acme/x/y", wantIn: "not owner/name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			create := problem(500, "", "")
			f := newFake(t, func(f *fake, w http.ResponseWriter) { create(f, w) }, noPoll)
			if tt.create != nil {
				create = tt.create(f)
			}
			// The fake's own file host redirects, as a compromised CDN would, to the other host.
			f.srv.Config.Handler.(*http.ServeMux).HandleFunc("GET /redirect", func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.URL+"/internal", http.StatusFound)
			})
			p := replicate.New(replicate.Options{APIToken: token, BaseURL: f.srv.URL, PollInterval: 10 * time.Millisecond, OutputHosts: f.hosts(),
				HTTP: providerhttp.Caller{Local: true, MaxCall: 2 * time.Second}})
			_, err := p.Generate(context.Background(), generation.ProviderRequest{Prompt: "coat", Model: tt.model})
			providertest.RequireProviderError(t, err, "replicate", generation.ProviderInvalidRequest, tt.wantIn, 0)
			require.Zero(t, f.polls.Calls(), "no poll")
			if tt.model != "" {
				require.Zero(t, f.creates.Calls(), "no call for a model that is not owner/name")
			}
			f.requireAPICalls(t, token) // the token went to the API host as it should
			elsewhere.Lock()
			defer elsewhere.Unlock()
			require.Empty(t, elsewhere.requests, "nothing was fetched from, and no token sent to, another host")
		})
	}
}
