package jpegdec

import (
	"bytes"
	"image"
	"image/jpeg"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// segment is one marker segment of a JPEG header.
type segment struct {
	marker  byte
	payload []byte
}

// splitJPEG splits a well-formed JPEG into its header segments (SOI
// excluded, up to and including SOS) and everything after the SOS header.
func splitJPEG(t testing.TB, data []byte) ([]segment, []byte) {
	t.Helper()
	require.Equal(t, []byte{0xff, markerSOI}, data[:2])
	var segs []segment
	for i := 2; ; {
		require.Equal(t, byte(0xff), data[i])
		m := data[i+1]
		n := int(data[i+2])<<8 | int(data[i+3])
		segs = append(segs, segment{m, append([]byte{}, data[i+4:i+2+n]...)})
		i += 2 + n
		if m == markerSOS {
			return segs, append([]byte{}, data[i:]...)
		}
	}
}

func joinJPEG(segs []segment, rest []byte) []byte {
	out := []byte{0xff, markerSOI}
	for _, s := range segs {
		n := len(s.payload) + 2
		out = append(out, 0xff, s.marker, byte(n>>8), byte(n))
		out = append(out, s.payload...)
	}
	return append(out, rest...)
}

// mutate applies f to the header segments of data.
func mutate(t testing.TB, data []byte, f func([]segment) []segment) []byte {
	t.Helper()
	segs, rest := splitJPEG(t, data)
	return joinJPEG(f(segs), rest)
}

func find(segs []segment, marker byte) *segment {
	for i := range segs {
		if segs[i].marker == marker {
			return &segs[i]
		}
	}
	return nil
}

func without(segs []segment, marker byte) []segment {
	var out []segment
	for _, s := range segs {
		if s.marker != marker {
			out = append(out, s)
		}
	}
	return out
}

// Small stdlib-encoded inputs shared by the header tests; callers get
// their own copy to mutate.
var (
	colorJPEGOnce = sync.OnceValue(func() []byte { return mustEncode(photoLike(37, 29, 11), 85) })
	grayJPEGOnce  = sync.OnceValue(func() []byte { return mustEncode(toGray(photoLike(37, 29, 12)), 85) })
)

func colorJPEG() []byte { return bytes.Clone(colorJPEGOnce()) }
func grayJPEG() []byte  { return bytes.Clone(grayJPEGOnce()) }

func TestHeaderVariantsMatchStdlib(t *testing.T) {
	t.Parallel()
	variants := map[string]func([]segment) []segment{
		"dqt16": func(segs []segment) []segment {
			// Rewrite every quantization table with 16-bit precision.
			for i := range segs {
				if segs[i].marker != markerDQT {
					continue
				}
				var p []byte
				for q := segs[i].payload; len(q) > 0; q = q[65:] {
					p = append(p, 0x10|q[0]&0x0f)
					for _, v := range q[1:65] {
						p = append(p, 0, v)
					}
				}
				segs[i].payload = p
			}
			return segs
		},
		"sof1": func(segs []segment) []segment {
			find(segs, markerSOF0).marker = markerSOF1
			return segs
		},
		"extraSegments": func(segs []segment) []segment {
			extra := []segment{
				{markerAPP0, []byte("JFIF\x00\x01\x02\x00\x00\x01\x00\x01\x00\x00")},
				{markerCOM, []byte("a comment")},
				{0xe1, []byte("Exif\x00\x00 not really")},
				{markerAPP15, nil},
				{markerDRI, []byte{0, 0}}, // Restart interval 0: none.
			}
			return append(extra, segs...)
		},
		"adobeYCbCr": func(segs []segment) []segment {
			return append([]segment{{markerAPP14, []byte("Adobe\x00\x64\x00\x00\x00\x00\x01")}}, segs...)
		},
		"jfifAndAdobe0": func(segs []segment) []segment {
			// A JFIF marker wins over an Adobe transform of 0, as in
			// image/jpeg.
			return append([]segment{
				{markerAPP0, []byte("JFIF\x00\x01\x02\x00\x00\x01\x00\x01\x00\x00")},
				{markerAPP14, []byte("Adobe\x00\x64\x00\x00\x00\x00\x00")},
			}, segs...)
		},
		"tablesSplit": func(segs []segment) []segment {
			// One DHT segment per table, in reverse order.
			var out, dht []segment
			for _, s := range segs {
				if s.marker != markerDHT {
					out = append(out, s)
					continue
				}
				for p := s.payload; len(p) > 0; {
					n := 17
					for _, c := range p[1:17] {
						n += int(c)
					}
					dht = append([]segment{{markerDHT, p[:n]}}, dht...)
					p = p[n:]
				}
			}
			sos := out[len(out)-1]
			return append(append(out[:len(out)-1], dht...), sos)
		},
	}
	for _, base := range []string{"color", "gray"} {
		for name, f := range variants {
			t.Run(base+"/"+name, func(t *testing.T) {
				t.Parallel()
				data := colorJPEG()
				if base == "gray" {
					data = grayJPEG()
				}
				s := decodeBoth(t, mutate(t, data, f))
				require.LessOrEqual(t, s.max, maxAllowedDiff)
			})
		}
	}
}

func TestFillBytesAndStrayData(t *testing.T) {
	t.Parallel()
	segs, rest := splitJPEG(t, colorJPEG())
	// Fill bytes before every marker, and a stray RST marker before EOI.
	var out []byte
	out = append(out, 0xff, markerSOI)
	for _, s := range segs {
		n := len(s.payload) + 2
		out = append(out, 0xff, 0xff, 0xff, s.marker, byte(n>>8), byte(n))
		out = append(out, s.payload...)
	}
	out = append(out, rest[:len(rest)-2]...)
	out = append(out, 0xff, 0xff, markerRST0, 0xff, 0xff, markerEOI)
	decodeBoth(t, out)
}

func TestUnsupportedHeaders(t *testing.T) {
	t.Parallel()
	sofPayload := func(segs []segment) []byte { return find(segs, markerSOF0).payload }
	cases := map[string]func([]segment) []segment{
		"adobeRGB": func(segs []segment) []segment {
			return append([]segment{{markerAPP14, []byte("Adobe\x00\x64\x00\x00\x00\x00\x00")}}, segs...)
		},
		"componentIDsRGB": func(segs []segment) []segment {
			sof, sos := sofPayload(segs), find(segs, markerSOS).payload
			for i, id := range []byte("RGB") {
				sof[6+3*i], sos[1+2*i] = id, id
			}
			return segs
		},
		"precision12": func(segs []segment) []segment {
			sofPayload(segs)[0] = 12
			return segs
		},
		"fourComponents": func(segs []segment) []segment {
			sof := find(segs, markerSOF0)
			sof.payload[5] = 4
			sof.payload = append(sof.payload, 4, 0x11, 0)
			return segs
		},
		"twoComponents": func(segs []segment) []segment {
			sof := find(segs, markerSOF0)
			sof.payload[5] = 2
			sof.payload = sof.payload[:len(sof.payload)-3]
			return segs
		},
		"progressiveSOF": func(segs []segment) []segment {
			find(segs, markerSOF0).marker = markerSOF2
			return segs
		},
		"losslessSOF": func(segs []segment) []segment {
			find(segs, markerSOF0).marker = 0xc3
			return segs
		},
		"heightFromDNL": func(segs []segment) []segment {
			sofPayload(segs)[1], sofPayload(segs)[2] = 0, 0
			return segs
		},
		"samplingFactor3": func(segs []segment) []segment {
			sofPayload(segs)[7] = 0x31
			return segs
		},
		"chromaLargerThanLuma": func(segs []segment) []segment {
			sofPayload(segs)[10] = 0x22 // Cb 2x2 under a 2x2 luma is fine...
			sofPayload(segs)[7] = 0x11  // ...but not under a 1x1 one.
			return segs
		},
		"partialScan": func(segs []segment) []segment {
			sos := find(segs, markerSOS)
			sos.payload = append([]byte{1}, sos.payload[1:3]...)
			sos.payload = append(sos.payload, 0, 63, 0)
			return segs
		},
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := Decode(mutate(t, colorJPEG(), f))
			require.ErrorIs(t, err, ErrUnsupported)
		})
	}
}

func TestCorruptHeaders(t *testing.T) {
	t.Parallel()
	cases := map[string]func([]segment) []segment{
		"noDQT": func(segs []segment) []segment { return without(segs, markerDQT) },
		"noDHT": func(segs []segment) []segment { return without(segs, markerDHT) },
		"noSOF": func(segs []segment) []segment { return without(segs, markerSOF0) },
		"twoSOF": func(segs []segment) []segment {
			return append([]segment{*find(segs, markerSOF0)}, segs...)
		},
		"zeroWidth": func(segs []segment) []segment {
			p := find(segs, markerSOF0).payload
			p[3], p[4] = 0, 0
			return segs
		},
		"tooWide": func(segs []segment) []segment {
			p := find(segs, markerSOF0).payload
			p[3], p[4] = 0x50, 0 // 20480
			return segs
		},
		"badTq": func(segs []segment) []segment {
			find(segs, markerSOF0).payload[8] = 7
			return segs
		},
		"repeatedComponentID": func(segs []segment) []segment {
			p := find(segs, markerSOF0).payload
			p[9] = p[6]
			return segs
		},
		"unknownScanComponent": func(segs []segment) []segment {
			find(segs, markerSOS).payload[1] = 99
			return segs
		},
		"scanTableOutOfBaselineRange": func(segs []segment) []segment {
			find(segs, markerSOS).payload[2] = 0x22
			return segs
		},
		"overSubscribedHuffman": func(segs []segment) []segment {
			p := find(segs, markerDHT).payload
			p[1] = 3 // Three 1-bit codes.
			return segs
		},
		"shortDQT": func(segs []segment) []segment {
			d := find(segs, markerDQT)
			d.payload = d.payload[:40]
			return segs
		},
		"badDRI": func(segs []segment) []segment {
			return append([]segment{{markerDRI, []byte{0}}}, segs...)
		},
		"sosLength": func(segs []segment) []segment {
			s := find(segs, markerSOS)
			s.payload = s.payload[:len(s.payload)-1]
			return segs
		},
		"unknownMarker": func(segs []segment) []segment {
			return append([]segment{{0x05, nil}}, segs...)
		},
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			img, err := Decode(mutate(t, colorJPEG(), f))
			require.Error(t, err)
			require.NotErrorIs(t, err, ErrUnsupported)
			require.Nil(t, img)
		})
	}
}

func TestBadRestartMarker(t *testing.T) {
	t.Parallel()
	data := readFixture(t, "s420_rst3.jpg")
	i := bytes.Index(data, []byte{0xff, markerRST0 + 2})
	require.Positive(t, i)
	data[i+1] = markerRST0 + 5
	_, err := Decode(data)
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrUnsupported)
}

// TestHugeFrameSmallData checks that a header claiming a large frame is
// rejected before the planes are allocated when the data cannot fill them.
// It does not call t.Parallel so the allocation count is its own.
func TestHugeFrameSmallData(t *testing.T) {
	data := mutate(t, colorJPEG(), func(segs []segment) []segment {
		p := find(segs, markerSOF0).payload
		p[1], p[2], p[3], p[4] = 0x3f, 0xff, 0x3f, 0xff // 16383x16383
		return segs
	})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Decode(data)
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, errShortData)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20))

	// image/jpeg fails on it as well.
	_, err = jpeg.Decode(bytes.NewReader(data))
	require.Error(t, err)
}

func TestGrayIgnoresSamplingFactors(t *testing.T) {
	t.Parallel()
	// A single-component scan is non-interleaved whatever its nominal
	// sampling factors, so a 2x2 gray frame decodes as 1x1 (T.81 A.2).
	data := mutate(t, grayJPEG(), func(segs []segment) []segment {
		find(segs, markerSOF0).payload[7] = 0x22
		return segs
	})
	decodeBoth(t, data)
	img, err := Decode(data)
	require.NoError(t, err)
	require.Equal(t, image.Rect(0, 0, 37, 29), img.Bounds())
}
