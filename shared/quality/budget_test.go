package quality

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"math"
	"os"
	"runtime/metrics"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
)

// heapAllocated returns the bytes f allocates on the heap, an upper bound of
// the peak heap it adds (what it frees is still counted). Tests calling it
// must not run in parallel: the counter is the process's.
func heapAllocated(f func()) int64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	before := s[0].Value.Uint64()
	f()
	metrics.Read(s)
	return int64(s[0].Value.Uint64() - before)
}

// flatPNG writes a w×h black PNG of the given bit depth and colour type,
// Adam7-interlaced or not, with a tRNS chunk when trns is not nil. The rows
// are streamed through zlib so the test never holds the pixels: a 16-bit RGB
// 6324² compresses to about 230 KB and decodes to 320 MB.
func flatPNG(tb testing.TB, w, h int, depth, colourType byte, interlaced bool, trns []byte) []byte {
	samples := map[byte]int{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colourType]
	var idat bytes.Buffer
	zw, err := zlib.NewWriterLevel(&idat, zlib.BestCompression)
	require.NoError(tb, err)
	rows := func(pw, ph int) {
		if pw <= 0 || ph <= 0 {
			return
		}
		row := make([]byte, 1+(pw*samples*int(depth)+7)/8) // filter byte 0, then zeros
		for range ph {
			_, err := zw.Write(row)
			require.NoError(tb, err)
		}
	}
	if interlaced {
		for _, p := range []struct{ x0, y0, dx, dy int }{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}} {
			rows((w-p.x0+p.dx-1)/p.dx, (h-p.y0+p.dy-1)/p.dy)
		}
	} else {
		rows(w, h)
	}
	require.NoError(tb, zw.Close())
	var buf bytes.Buffer
	buf.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = depth, colourType
	if interlaced {
		ihdr[12] = 1
	}
	writePNGChunk(&buf, "IHDR", ihdr)
	if colourType == 3 {
		writePNGChunk(&buf, "PLTE", []byte{0, 0, 0})
	}
	if trns != nil {
		writePNGChunk(&buf, "tRNS", trns)
	}
	writePNGChunk(&buf, "IDAT", idat.Bytes())
	writePNGChunk(&buf, "IEND", nil)
	return buf.Bytes()
}

// withAdobe inserts an Adobe APP14 segment with the given colour transform
// (0: RGB or CMYK, 1: YCbCr, 2: YCCK) after a JPEG's SOI.
func withAdobe(jpg []byte, transform byte) []byte {
	app := []byte{0xff, 0xee, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, transform}
	return append(append(append([]byte{}, jpg[:2]...), app...), jpg[2:]...)
}

// progressiveJPEG writes a w×h progressive JPEG of one grey level: a frame
// (SOF2) of comps components, the first with hv×hv sampling and the others
// 1×1 (hv 1 is 4:4:4, 2 is 4:2:0), and a single interleaved DC scan in which
// every block's DC difference is the one-bit code for 0. image/jpeg cannot
// encode progressive files; this is all the decoder needs to allocate every
// coefficient of every component.
func progressiveJPEG(w, h, comps int, hv byte) []byte {
	var b bytes.Buffer
	seg := func(marker byte, data ...byte) {
		b.Write([]byte{0xff, marker, byte((len(data) + 2) >> 8), byte(len(data) + 2)})
		b.Write(data)
	}
	b.Write([]byte{0xff, 0xd8})
	seg(0xdb, append([]byte{0}, bytes.Repeat([]byte{1}, 64)...)...) // quantisation table 0: all ones
	sof := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), byte(comps)}
	sos := []byte{byte(comps)}
	perMCU := 0
	for i := range comps {
		f := byte(1)
		if i == 0 {
			f = hv
		}
		sof = append(sof, byte(i+1), f<<4|f, 0)
		sos = append(sos, byte(i+1), 0x00)
		perMCU += int(f) * int(f)
	}
	if comps == 1 {
		hv, perMCU = 1, 1
	}
	seg(0xc2, sof...)
	// DC table 0 with one code, "0", of length 1, for difference category 0.
	seg(0xc4, append([]byte{0x00, 1}, append(make([]byte, 15), 0)...)...)
	seg(0xda, append(sos, 0, 0, 0)...) // Ss 0, Se 0, Ah 0, Al 0: DC first scan
	mcus := ((w + 8*int(hv) - 1) / (8 * int(hv))) * ((h + 8*int(hv) - 1) / (8 * int(hv)))
	nbits := mcus * perMCU
	scan := make([]byte, (nbits+7)/8)
	if r := nbits % 8; r != 0 {
		scan[len(scan)-1] = 0xff >> r // pad the last byte with ones
	}
	b.Write(scan)
	b.Write([]byte{0xff, 0xd9})
	return b.Bytes()
}

// flatWebPLossless writes a w×h lossless WebP of one colour: every prefix
// code has a single symbol, so the pixels take no bits at all and a canvas
// of 40 MP is a 34-byte file.
func flatWebPLossless(w, h int) []byte {
	var bw bitWriter
	bw.write(0x2f, 8)
	bw.write(uint32(w-1), 14)
	bw.write(uint32(h-1), 14)
	bw.write(0, 1+3+1+1+1)                              // no alpha hint, version 0, no transform, no colour cache, no meta codes
	for _, sym := range []uint32{128, 64, 32, 255, 0} { // green, red, blue, alpha, distance
		bw.write(1, 1) // simple code
		bw.write(0, 1) // one symbol
		bw.write(1, 1) // 8-bit symbol
		bw.write(sym, 8)
	}
	data := bw.bytes()
	var out bytes.Buffer
	out.WriteString("RIFF")
	_ = binary.Write(&out, binary.LittleEndian, uint32(4+8+len(data)+len(data)%2))
	out.WriteString("WEBPVP8L")
	_ = binary.Write(&out, binary.LittleEndian, uint32(len(data)))
	out.Write(data)
	if len(data)%2 == 1 {
		out.WriteByte(0)
	}
	return out.Bytes()
}

// TestDecodeCostBoundsDecoding decodes one file of every layout decodeCost
// distinguishes and checks that the estimate is an upper bound of what the
// decoder allocates, and not a gross overestimate.
func TestDecodeCostBoundsDecoding(t *testing.T) {
	const w, h = 1200, 900
	rgb := photoLike(w, h, 1) // opaque: written as 8-bit RGB
	rgba := photoLike(w, h, 1)
	rgba.Pix[3] = 200
	paletted := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.Black, color.White})
	gray16 := image.NewGray16(image.Rect(0, 0, w, h))
	cases := []struct {
		name string
		data []byte
		// loose bounds the estimate, less its fixed 1 MiB, over the
		// allocation: the estimate is the worst case of a layout (a
		// lossless WebP without a colour-indexing transform allocates
		// half of it).
		loose float64
	}{
		{"png 8-bit RGB", encodePNG(t, rgb), 1.2},
		{"png 8-bit RGBA", encodePNG(t, rgba), 1.2},
		{"png 16-bit RGB", flatPNG(t, w, h, 16, 2, false, nil), 1.2},
		{"png 16-bit RGB interlaced", flatPNG(t, w, h, 16, 2, true, nil), 1.2},
		{"png 8-bit grey", flatPNG(t, w, h, 8, 0, false, nil), 1.2},
		{"png 8-bit grey + tRNS", flatPNG(t, w, h, 8, 0, false, []byte{0, 7}), 1.2},
		{"png 16-bit grey + tRNS", flatPNG(t, w, h, 16, 0, false, []byte{0, 7}), 1.2},
		{"png 1-bit grey", flatPNG(t, w, h, 1, 0, false, nil), 1.2},
		{"png 16-bit grey+alpha", flatPNG(t, w, h, 16, 4, false, nil), 1.2},
		{"png 4-bit paletted", flatPNG(t, w, h, 4, 3, false, nil), 1.2},
		{"png 16-bit grey", encodePNG(t, gray16), 1.2},
		{"png paletted", encodePNG(t, paletted), 1.6},
		{"jpeg baseline 4:2:0", encodeJPEG(t, rgb, 90), 1.3},
		{"jpeg baseline grey", encodeJPEG(t, solidGray(w, h, 90), 90), 1.8},
		{"jpeg progressive 4:4:4", progressiveJPEG(w, h, 3, 1), 1.2},
		{"jpeg progressive 4:2:0", progressiveJPEG(w, h, 3, 2), 1.2},
		{"jpeg progressive grey", progressiveJPEG(w, h, 1, 1), 1.3},
		{"jpeg progressive RGB", withAdobe(progressiveJPEG(w, h, 3, 1), 0), 1.2},
		{"jpeg progressive CMYK", withAdobe(progressiveJPEG(w, h, 4, 1), 0), 1.2},
		{"jpeg progressive YCCK", withAdobe(progressiveJPEG(w, h, 4, 1), 2), 1.2},
		// Too small to measure (the counter moves by whole spans under
		// 32 KB): decoded for the upper bound, and the estimate checked below.
		{"webp lossy", readTestdata(t, "video-001.lossy.webp"), 0},
		{"webp lossy + alpha", readTestdata(t, "yellow_rose.lossy-with-alpha.webp"), 0},
		{"webp lossless", flatWebPLossless(w, h), 2.2},
		{"webp lossless photo", encodeWebPLossless(rgb), 2.2},
	}
	for _, tc := range cases {
		cfg, format, err := decodeConfig(tc.data)
		require.NoError(t, err, tc.name)
		estimate := decodeCost(tc.data, cfg, format)
		var derr error
		used := heapAllocated(func() { _, _, derr = decode(tc.data, math.MaxInt64) })
		require.NoError(t, derr, tc.name)
		t.Logf("%-24s allocated %6.1f MiB, estimated %6.1f MiB", tc.name, mib(used), mib(estimate))
		require.LessOrEqual(t, used, estimate, tc.name)
		if tc.loose > 0 {
			require.Less(t, float64(estimate-1<<20), tc.loose*float64(used), tc.name)
		}
	}

	// Lossy WebP: 4:2:0 macroblocks, plus 5 bytes a pixel for alpha.
	for _, tc := range []struct {
		file  string
		alpha int64
	}{{"video-001.lossy.webp", 0}, {"yellow_rose.lossy-with-alpha.webp", 5}} {
		data := readTestdata(t, tc.file)
		cfg, format, err := decodeConfig(data)
		require.NoError(t, err)
		mb := func(n int) int64 { return int64(n+15) / 16 * 16 }
		w, h := int64(cfg.Width), int64(cfg.Height)
		require.Equal(t, 1<<20+mb(cfg.Width)*mb(cfg.Height)*3/2+tc.alpha*w*h, decodeCost(data, cfg, format), tc.file)
	}
}

// TestCraftedFilesWithinBudget reproduces issue 12's files: small, valid,
// under the pixel caps, and each needing hundreds of MiB to decode. Each
// must either be refused as too large before decoding or decode within the
// budget. QUALITY_MEASURE_UNBOUNDED=1 also measures the decoders with no
// budget (what every file cost before the budgets; up to 600 MiB).
func TestCraftedFilesWithinBudget(t *testing.T) {
	const side = 6324 // 6324² = 39.99 MP, just under MaxPixels
	files := []struct {
		name    string
		data    []byte
		refused bool // over both budgets; otherwise read and judged within them
	}{
		{"16-bit PNG 6324²", flatPNG(t, side, side, 16, 2, false, nil), true},
		{"progressive 4:4:4 JPEG 6324²", progressiveJPEG(side, side, 3, 1), true},
		{"lossless WebP 6324²", flatWebPLossless(side, side), true},
		// A large reference that must still be read: 16.8 MP, 121 MiB.
		{"progressive 4:2:0 JPEG 4096²", progressiveJPEG(4096, 4096, 3, 2), false},
	}
	for _, f := range files {
		if os.Getenv("QUALITY_MEASURE_UNBOUNDED") != "" {
			used := heapAllocated(func() { _, _, _ = decode(f.data, math.MaxInt64) })
			t.Logf("%-30s %7d bytes: unbounded decode allocated %6.1f MiB", f.name, len(f.data), mib(used))
		}

		var ierr error
		used := heapAllocated(func() { _, _, ierr = Inspect(f.data) })
		require.Equal(t, f.refused, ierr != nil, "%s: Inspect: %v", f.name, ierr)
		if ierr != nil {
			require.Equal(t, generation.ETOOLARGE, generation.ErrorCode(ierr), "%s: %v", f.name, ierr)
			require.Less(t, used, int64(1<<20), f.name)
			t.Logf("%-30s %7d bytes: Inspect  refused (%.2f MiB allocated): %v", f.name, len(f.data), mib(used), ierr)
		} else {
			require.LessOrEqual(t, used, int64(ReferenceBudget), f.name)
			t.Logf("%-30s %7d bytes: Inspect  read in %6.1f MiB (budget %d)", f.name, len(f.data), mib(used), ReferenceBudget>>20)
		}

		var verdict generation.Verdict
		used = heapAllocated(func() {
			var err error
			verdict, err = New(0).Validate(context.Background(), f.data, generation.ValidationSpec{})
			require.NoError(t, err)
		})
		tooLarge := verdict.Score == 0 && len(verdict.Reasons) == 1 && verdict.Reasons[0] == ReasonTooLarge
		require.Equal(t, f.refused, tooLarge, "%s: Validate: %v", f.name, verdict.Reasons)
		if tooLarge {
			require.Less(t, used, int64(1<<20), f.name)
			require.Equal(t, float64(side), verdict.Metrics[MetricWidth], "the declared size is kept")
			t.Logf("%-30s %7d bytes: Validate too_large (%.2f MiB allocated)", f.name, len(f.data), mib(used))
		} else {
			require.NotContains(t, verdict.Reasons, ReasonUndecodable, f.name)
			require.LessOrEqual(t, used, int64(ProviderBudget), f.name)
			t.Logf("%-30s %7d bytes: Validate judged in %6.1f MiB (budget %d): %v", f.name, len(f.data), mib(used), ProviderBudget>>20, verdict.Reasons)
		}
	}
}

func readTestdata(t *testing.T, name string) []byte {
	data, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return data
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }
