package jpegdec

import (
	"fmt"
	"image"
	"image/color"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Tolerances against image/jpeg: the two IDCTs round differently, so
// samples may differ by a little, but only rarely.
const (
	maxAllowedDiff  = 2
	meanAllowedDiff = 0.5
)

var qualities = []int{1, 10, 50, 75, 85, 95, 100}

func TestDecodeMatchesStdlib(t *testing.T) {
	t.Parallel()
	sources := []struct {
		name string
		img  image.Image
	}{
		{"photo1x1", photoLike(1, 1, 1)},
		{"photo7x9", photoLike(7, 9, 2)},
		{"photo17x33", photoLike(17, 33, 3)},
		{"photo61x45", photoLike(61, 45, 4)},
		{"photo250x131", photoLike(250, 131, 5)},
		{"photo1024x768", photoLike(1024, 768, 6)},
		{"flatGray", flat(40, 24, color.RGBA{128, 128, 128, 255})},
		{"flatBlack", flat(33, 17, color.RGBA{0, 0, 0, 255})},
		{"flatWhite", flat(16, 16, color.RGBA{255, 255, 255, 255})},
		{"flatColor", flat(23, 29, color.RGBA{250, 10, 128, 255})},
	}

	var mu sync.Mutex
	var total diffStats
	t.Run("group", func(t *testing.T) {
		for _, src := range sources {
			for _, gray := range []bool{false, true} {
				for _, q := range qualities {
					name := fmt.Sprintf("%s/q%d", src.name, q)
					img := src.img
					if gray {
						name += "/gray"
						img = toGray(img)
					}
					t.Run(name, func(t *testing.T) {
						t.Parallel()
						s := decodeBoth(t, encode(t, img, q))
						require.LessOrEqual(t, s.max, maxAllowedDiff, s.String())
						require.Less(t, s.mean(), meanAllowedDiff, s.String())
						mu.Lock()
						total.add(s)
						mu.Unlock()
					})
				}
			}
		}
	})
	t.Logf("overall difference vs image/jpeg: %v", total)
}
