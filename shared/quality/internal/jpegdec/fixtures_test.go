package jpegdec

import (
	"bytes"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// The files in testdata were made once from a 61x45 synthetic image with
// libjpeg-turbo 2.1.5's cjpeg and jpegtran (tests must not depend on those
// tools). The names say what each one exercises:
//
//	cjpeg -quality 90 -sample 1x1               s444.jpg
//	cjpeg -quality 90 -sample 2x1               s422.jpg
//	cjpeg -quality 90 -sample 2x2 -optimize     s420_optimized.jpg
//	cjpeg -quality 90 -sample 1x2               s440.jpg
//	cjpeg -quality 90 -sample 4x1               s411.jpg
//	cjpeg -quality 90 -sample 4x2               s410.jpg
//	cjpeg -quality 80 -sample 2x1,2x1,2x1       s444_luma21.jpg
//	cjpeg -quality 80 -sample 2x2,2x1,2x1       s440_luma22.jpg
//	cjpeg -quality 85 -sample 2x2 -restart 3B   s420_rst3.jpg
//	cjpeg -quality 85 -sample 2x1 -restart 1B   s422_rst1.jpg
//	cjpeg -quality 85 -sample 1x1 -restart 1    s444_rst_row.jpg
//	cjpeg -quality 90 -grayscale                gray.jpg
//	cjpeg -quality 70 -grayscale -restart 5B -optimize   gray_rst5.jpg
//	cjpeg -quality 1 -sample 2x2 (SOF1, 16-bit DQT)      q1_sof1_dqt16.jpg
//	cjpeg -quality 100 -sample 1x1              s444_q100.jpg
//	cjpeg -quality 90 -progressive              progressive.jpg
//	cjpeg -quality 90 -arithmetic               arithmetic.jpg
//	cjpeg -quality 90 -rgb                      rgb.jpg
//	jpegtran -scans (one full scan per component)        noninterleaved.jpg
var supportedFixtures = []string{
	"s444.jpg", "s422.jpg", "s420_optimized.jpg", "s440.jpg", "s411.jpg",
	"s410.jpg", "s444_luma21.jpg", "s440_luma22.jpg", "s420_rst3.jpg",
	"s422_rst1.jpg", "s444_rst_row.jpg", "gray.jpg", "gray_rst5.jpg",
	"q1_sof1_dqt16.jpg", "s444_q100.jpg",
}

var unsupportedFixtures = []string{
	"progressive.jpg", "arithmetic.jpg", "rgb.jpg", "noninterleaved.jpg",
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return data
}

func TestFixturesMatchStdlib(t *testing.T) {
	t.Parallel()
	for _, name := range supportedFixtures {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := decodeBoth(t, readFixture(t, name))
			t.Logf("%s: %v", name, s)
			require.LessOrEqual(t, s.max, maxAllowedDiff, s.String())
			require.Less(t, s.mean(), meanAllowedDiff, s.String())
		})
	}
}

func TestFixtureSubsampleRatios(t *testing.T) {
	t.Parallel()
	want := map[string]image.YCbCrSubsampleRatio{
		"s444.jpg":           image.YCbCrSubsampleRatio444,
		"s422.jpg":           image.YCbCrSubsampleRatio422,
		"s420_optimized.jpg": image.YCbCrSubsampleRatio420,
		"s440.jpg":           image.YCbCrSubsampleRatio440,
		"s411.jpg":           image.YCbCrSubsampleRatio411,
		"s410.jpg":           image.YCbCrSubsampleRatio410,
		"s444_luma21.jpg":    image.YCbCrSubsampleRatio444,
		"s440_luma22.jpg":    image.YCbCrSubsampleRatio440,
	}
	for name, ratio := range want {
		img, err := Decode(readFixture(t, name))
		require.NoError(t, err, name)
		require.Equal(t, ratio, img.(*image.YCbCr).SubsampleRatio, name)
		require.Equal(t, image.Rect(0, 0, 61, 45), img.Bounds(), name)
	}
}

func TestUnsupportedFixtures(t *testing.T) {
	t.Parallel()
	for _, name := range unsupportedFixtures {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data := readFixture(t, name)
			_, err := Decode(data)
			require.ErrorIs(t, err, ErrUnsupported)
			if name != "arithmetic.jpg" {
				// image/jpeg has no arithmetic decoding either; the
				// others are what the caller's fallback is for.
				_, err = jpeg.Decode(bytes.NewReader(data))
				require.NoError(t, err, "image/jpeg")
			}
		})
	}
}

// TestTruncatedFixtures cuts every fixture at every byte offset. A file cut
// anywhere lacks its EOI marker, which image/jpeg reports as an error too.
func TestTruncatedFixtures(t *testing.T) {
	t.Parallel()
	for _, name := range append(append([]string{}, supportedFixtures...), unsupportedFixtures...) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data := readFixture(t, name)
			for n := 0; n < len(data); n++ {
				img, err := Decode(data[:n])
				require.Error(t, err, "cut at %d", n)
				require.Nil(t, img)
			}
		})
	}
}

// TestTruncatedEntropyData cuts the entropy-coded data of valid files and
// appends an EOI marker, so only the missing scan data is wrong.
func TestTruncatedEntropyData(t *testing.T) {
	t.Parallel()
	inputs := map[string][]byte{"stdlib": encode(t, photoLike(64, 48, 9), 90)}
	for _, name := range supportedFixtures {
		inputs[name] = readFixture(t, name)
	}
	for name, data := range inputs {
		sos := bytes.Index(data, []byte{0xff, markerSOS})
		require.Positive(t, sos, name)
		for n := sos + 4; n < len(data)-2; n++ {
			cut := append(append([]byte{}, data[:n]...), 0xff, markerEOI)
			_, err := Decode(cut)
			require.Error(t, err, "%s cut at %d of %d", name, n, len(data))
			require.NotErrorIs(t, err, ErrUnsupported)
		}
	}
}

func TestMissingEOIIsAnError(t *testing.T) {
	t.Parallel()
	data := encode(t, photoLike(20, 20, 1), 80)
	_, err := Decode(data[:len(data)-2])
	require.Error(t, err)
	_, err = jpeg.Decode(bytes.NewReader(data[:len(data)-2]))
	require.Error(t, err, "image/jpeg agrees")

	// Trailing bytes after EOI are ignored, by both.
	withTail := append(append([]byte{}, data...), "trailing garbage"...)
	decodeBoth(t, withTail)
}
