// Package quality decodes images and judges them with no-reference metrics
// computed in pure Go: sharpness, noise, exposure, contrast and blankness,
// JPEG blockiness, colourfulness and distance to the reference palette,
// size, a perceptual fingerprint for near-duplicates, and naturalness:
// BRISQUE/NIQE-style natural-scene statistics, written here (nss.go)
// because no maintained Go library computes them, with a model fitted on
// our own calibration set (nss_model.go, by `go run ./infra/bench quality
// fit-nss`), not OpenCV's LIVE-trained files. The scoring table is in
// validator.go; calibration and speed in docs/quality-benchmark.md.
package quality

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"

	"golang.org/x/image/webp"

	"github.com/designerbff/pipeline/shared/generation"
)

// Decoder limits. They are checked from the header (DecodeConfig) before any
// pixel is decoded, so a small file declaring a huge canvas is rejected
// without allocating it.
const (
	MaxSide   = 8192       // longest accepted width or height, in pixels
	MaxPixels = 40_000_000 // largest accepted width×height
)

// Formats recognised by content sniffing.
const (
	FormatPNG  = "png"
	FormatJPEG = "jpeg"
	FormatWebP = "webp"
)

// ContentType returns the media type of a format name, or "" if unknown.
func ContentType(format string) string {
	switch format {
	case FormatPNG:
		return "image/png"
	case FormatJPEG:
		return "image/jpeg"
	case FormatWebP:
		return "image/webp"
	}
	return ""
}

// sniff names the format from the magic bytes; file names and declared
// content types are never trusted.
func sniff(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return FormatPNG
	case bytes.HasPrefix(data, []byte("\xff\xd8\xff")):
		return FormatJPEG
	case len(data) >= 12 && string(data[0:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return FormatWebP
	}
	return ""
}

// decodeConfig sniffs the format and reads only the header, enforcing the
// size limits. On ETOOLARGE the declared size is still returned.
func decodeConfig(data []byte) (image.Config, string, error) {
	if len(data) == 0 {
		return image.Config{}, "", generation.Errorf(generation.EINVALID, "image is empty")
	}
	format := sniff(data)
	var cfg image.Config
	var err error
	switch format {
	case FormatPNG:
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
	case FormatJPEG:
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
	case FormatWebP:
		cfg, err = webp.DecodeConfig(bytes.NewReader(data))
	default:
		return image.Config{}, "", generation.Errorf(generation.EUNSUPPORTED, "image is not PNG, JPEG or WebP")
	}
	if err != nil {
		return image.Config{}, format, generation.Errorf(generation.EINVALID, "read %s header: %v", format, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return image.Config{}, format, generation.Errorf(generation.EINVALID, "image has no pixels (%d×%d)", cfg.Width, cfg.Height)
	}
	if cfg.Width > MaxSide || cfg.Height > MaxSide || int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return cfg, format, generation.Errorf(generation.ETOOLARGE,
			"image is %d×%d; the limit is %d px a side and %d MP", cfg.Width, cfg.Height, MaxSide, MaxPixels/1_000_000)
	}
	return cfg, format, nil
}

// decode checks the header (see decodeConfig) and the memory the decoder
// would need against budget (see decodeCost), and then decodes the pixels.
// Errors are *generation.Error with EINVALID, EUNSUPPORTED or ETOOLARGE.
func decode(data []byte, budget int64) (img image.Image, format string, err error) {
	var cfg image.Config
	if cfg, format, err = decodeConfig(data); err != nil {
		return nil, format, err
	}
	if cost := decodeCost(data, cfg, format); cost > budget {
		return nil, format, generation.Errorf(generation.ETOOLARGE,
			"%d×%d %s image needs about %d MiB to decode; the limit is %d MiB",
			cfg.Width, cfg.Height, format, cost>>20, budget>>20)
	}
	// The decoders are meant not to panic on hostile input, but these bytes
	// come from users and providers: a decoder bug must become a rejected
	// image, not a crashed Lambda.
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, generation.Errorf(generation.EINVALID, "decode %s: decoder failed: %v", format, r)
		}
	}()
	switch format {
	case FormatPNG:
		img, err = png.Decode(bytes.NewReader(data))
	case FormatJPEG:
		img, err = decodeJPEG(data)
	case FormatWebP:
		img, err = webp.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return nil, format, generation.Errorf(generation.EINVALID, "decode %s: %v", format, err)
	}
	if b := img.Bounds(); b.Dx() <= 0 || b.Dy() <= 0 {
		return nil, format, generation.Errorf(generation.EINVALID, "decode %s: image has no pixels", format)
	}
	return img, format, nil
}

// decodeJPEG decodes with the standard library. A faster hand-written
// decoder once saved about 8 ms per image, a ten-millionth of a dollar
// against an image's price: not worth specialist code on untrusted input.
func decodeJPEG(data []byte) (image.Image, error) {
	return jpeg.Decode(bytes.NewReader(data))
}
