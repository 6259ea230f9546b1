// Package providertest holds what the provider adapters' tests share: real
// image bytes to serve, a Recorder that keeps what their fake servers
// received, a reply helper, and the parts of their table tests that do not
// depend on the wire format. What each fake server answers stays in its
// adapter's test, because each speaks its own wire format.
package providertest

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
)

// PNG is a real, decodable w×h PNG; shade varies the red channel so that two
// images of one reply differ.
func PNG(t testing.TB, w, h int, shade uint8) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{R: shade, G: uint8(x * 3), B: uint8(y * 5), A: 255})
		}
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

// WriteJSON answers with status and a JSON body, after setting the extra
// headers given as name, value pairs (Retry-After, rate-limit headers…).
func WriteJSON(w http.ResponseWriter, status int, body string, headers ...string) {
	for i := 0; i+1 < len(headers); i += 2 {
		w.Header().Set(headers[i], headers[i+1])
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// Key is the API key a table case runs with: the adapter test's own key,
// the case's override, or none when the case says "-".
func Key(testKey, caseKey string) string {
	switch caseKey {
	case "-":
		return ""
	case "":
		return testKey
	}
	return caseKey
}

// Request is the case's request with the prompt every case may leave out.
func Request(req generation.ProviderRequest) generation.ProviderRequest {
	if req.Prompt == "" {
		req.Prompt = "a coat"
	}
	return req
}

// Calls is how many upstream calls a case expects: none when it says a
// negative number, else at least one.
func Calls(want int) int {
	if want < 0 {
		return 0
	}
	return max(want, 1)
}

// RequireProviderError asserts that err is provider's ProviderError of kind,
// whose reason contains reasonPart and whose wait hint is retryAfter.
func RequireProviderError(t testing.TB, err error, provider string, kind generation.ProviderErrorKind, reasonPart string, retryAfter time.Duration) {
	t.Helper()
	pe, ok := generation.AsProviderError(err)
	require.True(t, ok, "want a ProviderError, got %v", err)
	require.Equal(t, kind, pe.Kind, pe.Error())
	require.Equal(t, provider, pe.Provider)
	require.Contains(t, pe.Reason, reasonPart)
	require.Equal(t, retryAfter, pe.RetryAfter)
}

// RequireOutcome asserts that err is what a table case wants: provider's
// ProviderError of kind (as RequireProviderError) when kind is set, else no
// error. It says whether the case succeeded and so has more to check.
func RequireOutcome(t testing.TB, err error, provider string, kind generation.ProviderErrorKind, reasonPart string, retryAfter time.Duration) bool {
	t.Helper()
	if kind == "" {
		require.NoError(t, err)
		return true
	}
	RequireProviderError(t, err, provider, kind, reasonPart, retryAfter)
	return false
}
