package providerhttp_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/provider/catalog"
	"github.com/designerbff/pipeline/shared/provider/providerhttp"
)

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		headers map[string]string
		want    time.Duration
	}{
		{"none", nil, 0},
		{"milliseconds win", map[string]string{"Retry-After-Ms": "250", "Retry-After": "9"}, 250 * time.Millisecond},
		{"seconds", map[string]string{"Retry-After": "7"}, 7 * time.Second},
		{"fractional seconds", map[string]string{"Retry-After": "1.5"}, 1500 * time.Millisecond},
		{"HTTP date", map[string]string{"Retry-After": now.Add(42 * time.Second).Format(http.TimeFormat)}, 42 * time.Second},
		{"date in the past", map[string]string{"Retry-After": now.Add(-time.Minute).Format(http.TimeFormat)}, 0},
		{"garbage", map[string]string{"Retry-After": "soon"}, 0},
		{"negative", map[string]string{"Retry-After": "-3"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			for k, v := range tt.headers {
				h.Set(k, v)
			}
			require.Equal(t, tt.want, providerhttp.RetryAfter(h, now))
		})
	}
}

func TestRetryAfterText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		msg  string
		want time.Duration
	}{
		{"Rate limit reached. Please try again in 26.604s. Visit …", 26604 * time.Millisecond},
		{"Request was throttled. Your rate limit resets in ~30s.", 30 * time.Second},
		{"Please try again in 120ms.", 120 * time.Millisecond},
		{"try again in 2 seconds", 2 * time.Second},
		{"Slow down.", 0},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, providerhttp.RetryAfterText(tt.msg))
		})
	}
}

func TestKindOfStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		want   generation.ProviderErrorKind
	}{
		{400, generation.ProviderInvalidRequest}, {401, generation.ProviderAuth}, {402, generation.ProviderQuota},
		{403, generation.ProviderAuth}, {408, generation.ProviderUnavailable}, {409, generation.ProviderUnavailable},
		{413, generation.ProviderInvalidRequest}, {422, generation.ProviderInvalidRequest}, {429, generation.ProviderThrottled},
		{500, generation.ProviderUnavailable}, {502, generation.ProviderUnavailable}, {503, generation.ProviderUnavailable}, {504, generation.ProviderUnavailable},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, providerhttp.KindOfStatus(tt.status))
		})
	}
}

func TestAspectRatio(t *testing.T) {
	t.Parallel()
	allowed := []string{"1:1", "3:2", "2:3", "16:9", "9:16"}
	tests := []struct {
		w, h int
		want string
	}{
		{0, 0, "1:1"}, {512, 512, "1:1"}, {1536, 1024, "3:2"}, {1000, 1500, "2:3"}, {1920, 1080, "16:9"}, {600, 1100, "9:16"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, providerhttp.AspectRatio(tt.w, tt.h, allowed), "%dx%d", tt.w, tt.h)
	}
}

func TestSniffAndDataURI(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, image.NewGray(image.Rect(0, 0, 7, 5))))
	ct, w, h, err := providerhttp.Sniff(buf.Bytes())
	require.NoError(t, err)
	require.Equal(t, "image/png", ct)
	require.Equal(t, [2]int{7, 5}, [2]int{w, h})
	_, _, _, err = providerhttp.Sniff([]byte("<html>not an image</html>"))
	require.Error(t, err)

	uri := providerhttp.DataURI("image/png", buf.Bytes())
	back, err := providerhttp.DecodeDataURI(uri)
	require.NoError(t, err)
	require.Equal(t, buf.Bytes(), back)
	_, err = providerhttp.DecodeDataURI("https://example.com/a.png")
	require.Error(t, err)
	_, err = providerhttp.DecodeDataURI("data:image/png,rawbytes")
	require.Error(t, err)
}

func TestCallerBoundsOneAttempt(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(300 * time.Millisecond)
		_, _ = w.Write([]byte("late"))
	}))
	t.Cleanup(srv.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close() // connection refused from now on
	tests := []struct {
		name     string
		url      string
		caller   providerhttp.Caller
		deadline time.Duration // of the caller's context (0: none)
		wantIn   string
	}{
		{name: "MaxCall caps the attempt", url: srv.URL, caller: providerhttp.Caller{Provider: "x", Local: true, MaxCall: 50 * time.Millisecond}, wantIn: "timeout"},
		{name: "the caller's deadline less the margin", url: srv.URL, caller: providerhttp.Caller{Provider: "x", Local: true, Margin: 950 * time.Millisecond},
			deadline: time.Second, wantIn: "timeout"},
		{name: "no time left: no call", url: srv.URL, caller: providerhttp.Caller{Provider: "x", Local: true, Margin: 2 * time.Second},
			deadline: time.Second, wantIn: "no time left"},
		{name: "connection refused", url: closed.URL, caller: providerhttp.Caller{Provider: "x", Local: true}, wantIn: "transport error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			err := func() error {
				callCtx, cancel, err := tt.caller.Context(ctx)
				if err != nil {
					return err
				}
				defer cancel()
				req, err := http.NewRequestWithContext(callCtx, http.MethodGet, tt.url, nil)
				require.NoError(t, err)
				_, err = tt.caller.Do(req)
				return err
			}()
			pe, ok := generation.AsProviderError(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, generation.ProviderUnavailable, pe.Kind)
			require.Equal(t, "x", pe.Provider)
			require.Contains(t, pe.Reason, tt.wantIn)
		})
	}
}

func TestWriteImagePart(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ contentType, wantType, wantName string }{
		{"image/jpeg", "image/jpeg", "reference.jpeg"},
		{"", "image/png", "reference.png"},
	} {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		require.NoError(t, providerhttp.WriteImagePart(mw, "image", []byte("pixels"), tt.contentType))
		require.NoError(t, mw.Close())
		part, err := multipart.NewReader(&body, mw.Boundary()).NextPart()
		require.NoError(t, err)
		require.Equal(t, "image", part.FormName())
		require.Equal(t, tt.wantName, part.FileName())
		require.Equal(t, tt.wantType, part.Header.Get("Content-Type"))
		data, err := io.ReadAll(part)
		require.NoError(t, err)
		require.Equal(t, "pixels", string(data))
	}
}

func TestEndpoint(t *testing.T) {
	t.Parallel()
	e := providerhttp.NewEndpoint("openai", "gpt-image-2", "https://api.example.com/", "https://api.openai.com")
	require.Equal(t, "openai", e.Name())
	require.Equal(t, "gpt-image-2", e.DefaultModel())
	require.Equal(t, "gpt-image-2", e.Model(generation.ProviderRequest{}), "a request without a model gets the configured one")
	require.Equal(t, "gpt-image-1.5", e.Model(generation.ProviderRequest{Model: "gpt-image-1.5"}))
	require.Equal(t, "https://api.example.com/v1/images", e.URL("/v1/images"), "one slash between base and path")

	defaults := providerhttp.NewEndpoint("openai", "", "", "https://api.openai.com")
	require.Equal(t, catalog.DefaultModel("openai"), defaults.DefaultModel())
	require.Equal(t, "https://api.openai.com/v1/images", defaults.URL("/v1/images"))
}

func TestOneCarriesEveryImagesCost(t *testing.T) {
	t.Parallel()
	var asked int
	generateN := func(_ context.Context, _ generation.ProviderRequest, n int) ([]generation.Image, error) {
		asked = n
		return []generation.Image{{Bytes: []byte("a"), CostUSD: 0.04}, {Bytes: []byte("b"), CostUSD: 0.04}}, nil
	}
	got, err := providerhttp.One(context.Background(), generation.ProviderRequest{}, generateN)
	require.NoError(t, err)
	require.Equal(t, 1, asked)
	require.Equal(t, []byte("a"), got.Bytes)
	require.InDelta(t, 0.08, got.CostUSD, 1e-12, "an unasked-for extra image is billed too")

	failing := func(context.Context, generation.ProviderRequest, int) ([]generation.Image, error) {
		return nil, errors.New("refused")
	}
	_, err = providerhttp.One(context.Background(), generation.ProviderRequest{}, failing)
	require.EqualError(t, err, "refused")
}

// Without Local, a call goes only to https on a public address: a plain
// http URL is refused before it is sent, and the default client does not
// dial loopback (an https server on 127.0.0.1 receives nothing). Either way
// the outcome is invalid_request, not retried.
func TestCallerRefusesNonPublicDestinations(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	plain := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	t.Cleanup(plain.Close)
	for _, tt := range []struct{ url, wantIn string }{
		{srv.URL, "127.0.0.1 is not a public address"},
		{plain.URL, "refused: http URL"},
		{"https://[::1]:1/x", "::1 is not a public address"},
		{"https://169.254.169.254/latest/meta-data", "169.254.169.254 is not a public address"},
		{"https://10.0.0.1:1/", "10.0.0.1 is not a public address"},
		{"https://100.64.0.1:1/", "100.64.0.1 is not a public address"},
	} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, tt.url, nil)
		require.NoError(t, err)
		_, err = providerhttp.Caller{Provider: "x"}.Do(req)
		pe, ok := generation.AsProviderError(err)
		require.True(t, ok, "%s: %v", tt.url, err)
		require.Equal(t, generation.ProviderInvalidRequest, pe.Kind, tt.url)
		require.Contains(t, pe.Reason, tt.wantIn)
	}
	require.Zero(t, hits.Load())
}

// A redirect to another host (or scheme) is not followed, whatever the
// addresses: the Authorization header and the fetch stay on the first host.
func TestCallerFollowsNoRedirectToAnotherHost(t *testing.T) {
	t.Parallel()
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { elsewhere.Add(1) }))
	t.Cleanup(other.Close)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/internal", http.StatusFound)
		case "/same":
			http.Redirect(w, r, "/final", http.StatusFound)
		default:
			_, _ = w.Write([]byte("here"))
		}
	}))
	t.Cleanup(srv.Close)
	caller := providerhttp.Caller{Provider: "x", Local: true}

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/away", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer secret")
	_, err = caller.Do(req)
	pe, ok := generation.AsProviderError(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, generation.ProviderInvalidRequest, pe.Kind)
	require.Contains(t, pe.Reason, "redirect from")
	require.Zero(t, elsewhere.Load())

	req, err = http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/same", nil)
	require.NoError(t, err)
	resp, err := caller.Do(req)
	require.NoError(t, err, "a redirect on the same host is followed")
	require.Equal(t, "here", string(resp.Body))
}

func TestOnHosts(t *testing.T) {
	t.Parallel()
	hosts := []string{"replicate.delivery", ".replicate.delivery"}
	for _, ok := range []string{"https://replicate.delivery/xezq/a/out-0.png", "https://pbxt.replicate.delivery/a/out-0.png"} {
		_, err := providerhttp.OnHosts(ok, hosts, false)
		require.NoError(t, err, ok)
	}
	for _, bad := range []string{
		"http://replicate.delivery/a.png", "https://replicate.delivery.evil.com/a.png", "https://evilreplicate.delivery/a.png",
		"https://x.replicate.delivery:8443/a.png", "https://user:pw@replicate.delivery/a.png", "file:///etc/passwd",
		"https://127.0.0.1/a.png", "//replicate.delivery/a.png", "https://replicate.delivery%2f@evil.com/",
	} {
		_, err := providerhttp.OnHosts(bad, hosts, false)
		require.ErrorIs(t, err, providerhttp.ErrRefused, bad)
	}
	_, err := providerhttp.OnHosts("http://127.0.0.1:5000/x", []string{"127.0.0.1:5000"}, true)
	require.NoError(t, err, "tests name their fake's host and allow http")
}

func TestPath(t *testing.T) {
	t.Parallel()
	p, err := providerhttp.Path("v1beta", "models", "a/b?c#d%e:generateContent")
	require.NoError(t, err)
	require.Equal(t, "/v1beta/models/a%2Fb%3Fc%23d%25e:generateContent", p)
	for _, bad := range []string{"", ".", ".."} {
		_, err := providerhttp.Path("v1", bad)
		require.ErrorIs(t, err, providerhttp.ErrRefused, bad)
	}
}
