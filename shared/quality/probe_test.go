package quality

import (
	"context"
	"fmt"
	"os"
	"testing"
	"image"
	"math"

	"github.com/designerbff/pipeline/shared/generation"
)

func TestProbe(t *testing.T) {
	v := New(0)
	show := func(k string, b []byte) {
		vd, _ := v.Validate(context.Background(), b, generation.ValidationSpec{})
		fmt.Printf("%-14s score %6.2f pass %v reasons %v lv %.1f mean %.3f std %.1f ent %.2f clo %.3f chi %.3f %vx%v\n", k, vd.Score, vd.Passed, vd.Reasons, vd.Metrics["laplacian_var"], vd.Metrics["mean_luma"], vd.Metrics["luma_std"], vd.Metrics["entropy"], vd.Metrics["clip_low"], vd.Metrics["clip_high"], vd.Metrics["width"], vd.Metrics["height"])
	}
	base := photoLike(512, 384, 1)
	quiet := gaussianBlur(base, 0.7) // removes most noise
	show("quiet", encodePNG(t, quiet))
	show("quiet-b3", encodePNG(t, gaussianBlur(quiet, 3)))
	show("b0.5", encodePNG(t, gaussianBlur(base, 0.5)))
	big := photoLike(1024, 768, 1)
	show("big", encodePNG(t, big))
	show("big-b6", encodePNG(t, gaussianBlur(big, 6)))
	show("big-b2", encodePNG(t, gaussianBlur(big, 2)))
	for _, g := range []float64{2, 3} {
		show(fmt.Sprintf("gamma%v", g), encodePNG(t, mapRGB(base, func(x float64) float64 { return 255 * pow(x/255, g) })))
	}
	show("x0.2", encodePNG(t, mapRGB(base, func(x float64) float64 { return x * 0.2 })))
	show("x0.4", encodePNG(t, mapRGB(base, func(x float64) float64 { return x * 0.4 })))
	show("x2.5", encodePNG(t, mapRGB(base, func(x float64) float64 { return x * 2.5 })))
	show("x1.8", encodePNG(t, mapRGB(base, func(x float64) float64 { return x * 1.8 })))
	show("+150", encodePNG(t, mapRGB(base, func(x float64) float64 { return x + 150 })))
	show("gamma0.3", encodePNG(t, mapRGB(base, func(x float64) float64 { return 255 * pow(x/255, 0.3) })))
	for _, f := range []string{"testdata/video-001.lossy.webp", "testdata/yellow_rose.lossy-with-alpha.webp"} {
		b, _ := os.ReadFile(f)
		show(f[9:20], b)
	}
	for _, f := range []string{"video-001.png", "yellow_rose.png", "tux.png", "blue-purple-pink.lossy.webp", "gopher-doc.8bpp.lossless.webp"} {
		b, _ := os.ReadFile("/root/go/pkg/mod/golang.org/x/image@v0.48.0/testdata/" + f)
		show(f, b)
	}
	_ = image.Rect
}
func pow(a, b float64) float64 { return math.Pow(a, b) }
