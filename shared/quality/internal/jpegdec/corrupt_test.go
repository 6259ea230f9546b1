package jpegdec

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// fuzzSeeds are valid inputs of every supported kind plus the unsupported
// fixtures.
func fuzzSeeds(t testing.TB) [][]byte {
	seeds := [][]byte{
		encode(t, photoLike(24, 16, 1), 75),
		encode(t, toGray(photoLike(9, 13, 2)), 50),
	}
	for _, name := range append(append([]string{}, supportedFixtures...), unsupportedFixtures...) {
		seeds = append(seeds, readFixture(t, name))
	}
	return seeds
}

// checkCorrupt decodes possibly corrupt data. jpegdec must not panic, must
// return either an image or an error, and a returned image must be sane.
// When image/jpeg also accepts the data, both must agree on the type and
// geometry. Samples are only compared for valid data (elsewhere): on corrupt
// data the decoders legitimately differ. Investigating random corruptions
// found two causes, neither a jpegdec bug: dequantized coefficients far
// outside the 8-bit range overflow image/jpeg's 32-bit IDCT (jpegdec
// computes in 64 bits and clamps), and image/jpeg gives the reserved
// baseline AC symbols (r,0), 1 <= r <= 14, their progressive meaning of an
// end-of-band run that also skips following blocks, while jpegdec ends just
// the current block, as libjpeg does.
func checkCorrupt(t *testing.T, data []byte) (got, want image.Image) {
	t.Helper()
	got, err := Decode(data)
	if err != nil {
		require.Nil(t, got)
		return nil, nil
	}
	b := got.Bounds()
	require.True(t, b.Min == image.Point{} && b.Dx() > 0 && b.Dy() > 0 && b.Dx() <= maxDim && b.Dy() <= maxDim, "bounds %v", b)

	want, err = jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		// image/jpeg is stricter in places, for example it rejects
		// Huffman tables that jpegdec accepts; that is fine.
		return got, nil
	}
	require.IsType(t, want, got)
	require.Equal(t, want.Bounds(), got.Bounds())
	return got, want
}

func TestRandomCorruption(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 8))
	var bothOK, sameish, decodedByUs int
	for _, seed := range fuzzSeeds(t) {
		for j := 0; j < 300; j++ {
			data := append([]byte{}, seed...)
			// Flip one to four random bytes, sometimes to 0xff to
			// provoke marker handling.
			for k := rng.IntN(4); k >= 0; k-- {
				p := rng.IntN(len(data))
				if rng.IntN(4) == 0 {
					data[p] = 0xff
				} else {
					data[p] ^= byte(1 + rng.IntN(255))
				}
			}
			got, want := checkCorrupt(t, data)
			if got != nil {
				decodedByUs++
			}
			if want == nil {
				continue
			}
			bothOK++
			if s := compareImages(t, want, got); s.max <= maxAllowedDiff {
				sameish++
			}
		}
	}
	t.Logf("decoded by jpegdec: %d; by both: %d, of which %d within tolerance", decodedByUs, bothOK, sameish)
}

func TestJPEGDecErrorsAreNotUnsupportedForCorruptEntropy(t *testing.T) {
	t.Parallel()
	// Garbage entropy data is corrupt, not unsupported.
	segs, rest := splitJPEG(t, encode(t, photoLike(32, 32, 3), 80))
	for i := range rest[:len(rest)-2] {
		rest[i] = 0xff
	}
	_, err := Decode(joinJPEG(segs, rest))
	require.Error(t, err)
	require.False(t, errors.Is(err, ErrUnsupported))
}

// FuzzDecode checks that arbitrary input never panics or yields a nonsense
// image; under plain `go test` it only runs the seed corpus.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkCorrupt(t, data)
	})
}
