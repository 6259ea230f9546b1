package procedural

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"testing"
	"time"
	"math/rand/v2"
	"image/jpeg"

	"github.com/designerbff/pipeline/shared/generation"
)

func TestExplore(t *testing.T) {
	p := New(Options{})
	q := p.quirks
	fmt.Println("neutral", q.Neutral, "bad", q.Role(RoleBad), "good", q.Role(RoleGood))
	for _, m := range q.Role(RoleBad) { fmt.Println(m, q.Modifiers[m]) }
	for _, d := range append([]Defect{NoDefect}, Defects...) {
		for _, model := range []string{"", "procedural-jpeg"} {
		var seed int64
		for s := int64(1); ; s++ { if q.Decide(nil, s) == d { seed = s; break } }
		st := time.Now()
		img, err := p.Generate(context.Background(), generation.ProviderRequest{Seed: seed, Prompt: "a dress", Model: model})
		el := time.Since(st)
		if err != nil { t.Fatal(err) }
		m, _, err := image.Decode(bytes.NewReader(img.Bytes))
		if err != nil { t.Fatal(err) }
		mean, std, lap := stats(m)
		fmt.Printf("%-12s %-16s seed %4d mean %.3f std %.1f lap %.1f size %d %v\n", d, model, seed, mean, std, lap, len(img.Bytes), el)
		if model == "" { f, _ := os.Create("/tmp/proc/" + string(d) + ".png"); png.Encode(f, m); f.Close() }
		}
	}
}

func stats(m image.Image) (mean, std, lap float64) {
	b := m.Bounds(); w, h := b.Dx(), b.Dy()
	y := make([]float64, w*h)
	for j := 0; j < h; j++ { for i := 0; i < w; i++ {
		r, g, bb, _ := m.At(b.Min.X+i, b.Min.Y+j).RGBA()
		y[j*w+i] = 0.299*float64(r>>8) + 0.587*float64(g>>8) + 0.114*float64(bb>>8)
	}}
	var s, s2 float64
	for _, v := range y { s += v; s2 += v*v }
	n := float64(len(y)); mean = s/n; std = s2/n - mean*mean; if std < 0 {std = 0}
	var l, l2 float64; k := 0.0
	for j := 1; j < h-1; j++ { for i := 1; i < w-1; i++ {
		v := y[(j-1)*w+i] + y[(j+1)*w+i] + y[j*w+i-1] + y[j*w+i+1] - 4*y[j*w+i]
		l += v; l2 += v*v; k++ }}
	lm := l/k
	return mean/255, sqrt(std), l2/k - lm*lm
}
func sqrt(x float64) float64 { r := x; for i := 0; i < 50; i++ { if r == 0 {return 0}; r = (r + x/r)/2 }; return r }

func BenchmarkExploreGen(b *testing.B) {
	p := New(Options{})
	for i := 0; b.Loop(); i++ {
		_, _ = p.Generate(context.Background(), generation.ProviderRequest{Seed: 2, Prompt: "a dress"})
	}
}
func BenchmarkExploreRender(b *testing.B) {
	pal := newPalette(nil)
	for b.Loop() {
		render(512, 512, newRand(2), pal)
	}
}
func newRand(s uint64) *rand.Rand { return rand.New(rand.NewPCG(s, 1)) }

func BenchmarkExploreEncode(b *testing.B) {
	img := render(512, 512, newRand(2), newPalette(nil))
	for _, lvl := range []png.CompressionLevel{png.BestSpeed, png.DefaultCompression} {
		b.Run(fmt.Sprint(lvl), func(b *testing.B) {
			e := png.Encoder{CompressionLevel: lvl}
			for b.Loop() { var buf bytes.Buffer; e.Encode(&buf, img) }
		})
	}
	b.Run("jpeg", func(b *testing.B) { for b.Loop() { var buf bytes.Buffer; jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}) } })
	b.Run("blur", func(b *testing.B) { for b.Loop() { boxBlur(img, 5) } })
}
