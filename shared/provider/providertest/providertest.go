// Package providertest holds what the provider adapters' tests share: real
// image bytes to serve and a reply helper for their fake servers. Each fake
// server itself stays in its adapter's test, because each speaks its own wire
// format.
package providertest

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
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
