package jpegdec

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"sync"
	"testing"
)

// benchImages caches the encoded benchmark inputs across benchmarks.
var benchImages = sync.OnceValue(func() map[int][]byte {
	src := photoLike(1024, 1024, 7)
	m := map[int][]byte{}
	for _, q := range []int{85, 95} {
		m[q] = mustEncode(src, q)
	}
	return m
})

// BenchmarkDecode1024 compares jpegdec with image/jpeg on a 1024x1024 4:2:0
// photo-like image. The machine's speed drifts, so each quality runs both
// decoders back to back; compare them within one run.
func BenchmarkDecode1024(b *testing.B) {
	for _, q := range []int{85, 95} {
		data := benchImages()[q]
		b.Run(fmt.Sprintf("q%d/jpegdec", q), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("q%d/imagejpeg", q), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestBenchImageSize(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("slow")
	}
	for q, data := range benchImages() {
		t.Logf("1024x1024 q%d: %d bytes", q, len(data))
	}
}
