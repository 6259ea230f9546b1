package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/webp"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/provider/procedural"
	"github.com/designerbff/pipeline/shared/quality"
)

// The calibration set's recipe. Nothing of it is committed but this code:
// the photographs and illustrations come from Debian packages installed by
// `make bench-quality`, everything else is generated. The packages kept
// for the team's independent check (python3-skimage, opencv-doc, the
// opencv-data images, plasma-workspace-wallpapers, lomiri-wallpapers*,
// python3-scipy, python-matplotlib-data, python3-sklearn) are never read.

// Clean kinds: where a clean image comes from, reported separately because
// each guards against a different unfair rejection.
const (
	kindProcedural   = "procedural"   // the embedded provider, no defects (PNG)
	kindPhoto        = "photo"        // a photograph as shipped, scaled to 1024 px
	kindIllustration = "illustration" // a rendered wallpaper (what a generator draws)
	kindProduct      = "product"      // a subject on a clipped white surround
	kindLowKey       = "low_key"      // dark on purpose, with highlights
	kindDOF          = "dof"          // a sharp subject on a soft background
)

var cleanKinds = []string{kindProcedural, kindPhoto, kindIllustration, kindProduct, kindLowKey, kindDOF}

// photoSource is one file of a Debian package.
type photoSource struct {
	pkg, path string
	kind      string
}

// Sources: mate-backgrounds' nature photographs (GPL-2+), gnome-backgrounds'
// wood photographs and ukui-wallpapers' rendered illustrations (GPL-2+);
// mate's macro shots (Garden, LadyBird, TwoWings, FreshFlower, YellowFlower,
// Aqua) are real shallow depth-of-field photographs, and ukui's the-mouse is
// a low-key render.
var photoSources = func() []photoSource {
	var out []photoSource
	for _, f := range []string{"Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops", "Storm", "TwoWings", "Wood", "YellowFlower"} {
		kind := kindPhoto
		switch f {
		case "Garden", "LadyBird", "TwoWings", "FreshFlower", "YellowFlower", "Aqua":
			kind = kindDOF
		}
		out = append(out, photoSource{"mate-backgrounds", "/usr/share/backgrounds/mate/nature/" + f + ".jpg", kind})
	}
	for _, f := range []string{"wood-l.webp", "wood-d.webp"} {
		out = append(out, photoSource{"gnome-backgrounds", "/usr/share/backgrounds/gnome/" + f, kindPhoto})
	}
	for _, f := range []string{"2004default.jpg", "firstgeneration.jpg", "rhythm.jpg", "string.jpg", "calla.png", "city.png", "desert.png", "fluent-color.png", "focal-ubuntukylin.png", "goldfish.png", "rollpaper.png"} {
		out = append(out, photoSource{"ukui-wallpapers", "/usr/share/backgrounds/" + f, kindIllustration})
	}
	out = append(out, photoSource{"ukui-wallpapers", "/usr/share/backgrounds/the-mouse.jpg", kindLowKey})
	return out
}()

// Derived clean images: made from the photographs above, each a kind of
// picture the validator must pass.
var (
	// productSubjects are cut out (a feathered ellipse of the centre) and
	// placed on pure white, a product shot's surround.
	productSubjects = []string{"YellowFlower", "Garden", "FreshFlower", "LadyBird", "Dune", "RainDrops"}
	// lowKeyGrades are graded low-key: v' = 255·(v/255)^2.2, which keeps
	// white white and black black (a deliberate grade, not underexposure).
	lowKeyGrades = []string{"Storm", "Blinds", "GreenMeadow", "RainDrops", "Dune"}
	// dofFakes keep a centred ellipse sharp and blur the rest with σ = 5 px:
	// a shallow depth of field on scenes that were sharp throughout.
	dofFakes = []string{"Dune", "GreenMeadow", "Blinds", "RainDrops", "Wood"}
)

// sample is one clean image of the set with its encoding and reference.
type sample struct {
	name   string
	kind   string
	origin string // the picture it was made from: images of one origin are alike on purpose
	img    *image.NRGBA
	ref    []generation.Color
	jpeg   bool // clean encoding: JPEG q92 (photographs) or PNG (procedural)
}

// level is one degradation of a family at a stated strength.
type level struct {
	label string
	apply func(img *image.NRGBA, long int) *image.NRGBA
	jpegQ int // > 0: encode as JPEG at this quality instead of the clean encoding
}

// family is one defect: the reasons that name it and its strong and mild
// levels. A strong level is one a designer rejects at a glance (it counts
// toward defect_recall); a mild one should mostly pass (mild_fail).
type family struct {
	name    string
	reasons []string // any of these on a failed image is the right reason
	strong  level
	mild    *level // nil: no mild level (a blank image has no mild form)
	colour  bool   // only for images whose colours can be shifted (colourfulness ≥ minShiftColour)
}

// minShiftColour is the colourfulness under which a palette shift changes
// too little to call strong: greys stay grey under a hue rotation.
const minShiftColour = 20

// Strengths are stated at a 1024 px long side and scaled with it.
var families = []family{
	{name: "blur", reasons: []string{quality.ReasonBlurry},
		strong: level{"Gaussian blur σ = 2 px", func(m *image.NRGBA, long int) *image.NRGBA { return gaussianBlur(m, 2*px(long)) }, 0},
		mild:   &level{"Gaussian blur σ = 0.7 px", func(m *image.NRGBA, long int) *image.NRGBA { return gaussianBlur(m, 0.7*px(long)) }, 0}},
	{name: "motion", reasons: []string{quality.ReasonBlurry},
		strong: level{"horizontal motion blur, 12 px box", func(m *image.NRGBA, long int) *image.NRGBA { return motionBlur(m, int(12*px(long))) }, 0},
		mild:   &level{"horizontal motion blur, 3 px box", func(m *image.NRGBA, long int) *image.NRGBA { return motionBlur(m, int(3*px(long))) }, 0}},
	{name: "upscale", reasons: []string{quality.ReasonBlurry},
		strong: level{"downscaled ×4, bilinear upscale back", func(m *image.NRGBA, _ int) *image.NRGBA { return softUpscale(m, 4) }, 0},
		mild:   &level{"downscaled ×1.5, bilinear upscale back", func(m *image.NRGBA, _ int) *image.NRGBA { return softUpscale(m, 1.5) }, 0}},
	{name: "noise", reasons: []string{quality.ReasonNoisy},
		strong: level{"Gaussian noise σ = 24 levels per channel", func(m *image.NRGBA, _ int) *image.NRGBA { return addNoise(m, 24) }, 0},
		mild:   &level{"Gaussian noise σ = 8 levels per channel", func(m *image.NRGBA, _ int) *image.NRGBA { return addNoise(m, 8) }, 0}},
	{name: "under", reasons: []string{quality.ReasonUnderexposed},
		strong: level{"−3 EV (linear light ÷ 8)", func(m *image.NRGBA, _ int) *image.NRGBA { return exposure(m, -3) }, 0},
		mild:   &level{"−1 EV", func(m *image.NRGBA, _ int) *image.NRGBA { return exposure(m, -1) }, 0}},
	{name: "over", reasons: []string{quality.ReasonOverexposed},
		strong: level{"+2.5 EV (linear light × 5.7, clipped)", func(m *image.NRGBA, _ int) *image.NRGBA { return exposure(m, 2.5) }, 0},
		mild:   &level{"+0.7 EV", func(m *image.NRGBA, _ int) *image.NRGBA { return exposure(m, 0.7) }, 0}},
	{name: "washed", reasons: []string{quality.ReasonWashedOut, quality.ReasonLowContrast},
		strong: level{"blacks lifted, range compressed: v' = 100 + 0.55·v", func(m *image.NRGBA, _ int) *image.NRGBA { return linearMap(m, 100, 0.55) }, 0},
		mild:   &level{"v' = 20 + 0.9·v", func(m *image.NRGBA, _ int) *image.NRGBA { return linearMap(m, 20, 0.9) }, 0}},
	{name: "banding", reasons: []string{quality.ReasonBanding},
		strong: level{"posterised to 6 levels per channel", func(m *image.NRGBA, _ int) *image.NRGBA { return posterise(m, 6) }, 0},
		mild:   &level{"posterised to 32 levels per channel", func(m *image.NRGBA, _ int) *image.NRGBA { return posterise(m, 32) }, 0}},
	{name: "blocky", reasons: []string{quality.ReasonBlocky},
		strong: level{"JPEG quality 10", func(m *image.NRGBA, _ int) *image.NRGBA { return m }, 10},
		mild:   &level{"JPEG quality 60", func(m *image.NRGBA, _ int) *image.NRGBA { return m }, 60}},
	{name: "tiled", reasons: []string{quality.ReasonTiled},
		strong: level{"2×2 repeat of the half-size image", func(m *image.NRGBA, _ int) *image.NRGBA { return tiled(m, 1) }, 0},
		mild:   &level{"the 2×2 repeat blended 50 % over the image", func(m *image.NRGBA, _ int) *image.NRGBA { return tiled(m, 0.5) }, 0}},
	{name: "unfinished", reasons: []string{quality.ReasonUnfinished},
		strong: level{"right half filled flat with the mean colour", func(m *image.NRGBA, _ int) *image.NRGBA { return flatRegion(m, 0.5, 0) }, 0},
		mild:   &level{"bottom-right quarter filled flat", func(m *image.NRGBA, _ int) *image.NRGBA { return flatRegion(m, 0.5, 0.5) }, 0}},
	{name: "cast", reasons: []string{quality.ReasonColourCast, quality.ReasonOffPalette},
		strong: level{"warm cast against the reference: R × 1.25, B × 0.75 (linear light)", func(m *image.NRGBA, _ int) *image.NRGBA { return colourCast(m, 1.25, 0.75) }, 0},
		mild:   &level{"R × 1.05, B × 0.95", func(m *image.NRGBA, _ int) *image.NRGBA { return colourCast(m, 1.05, 0.95) }, 0}},
	{name: "palette", reasons: []string{quality.ReasonOffPalette, quality.ReasonColourCast}, colour: true,
		strong: level{"hue rotated 180° (Cb, Cr negated), same luma", func(m *image.NRGBA, _ int) *image.NRGBA { return hueFlip(m, 1) }, 0},
		mild:   &level{"chroma moved a quarter of the way to the opposite hue", func(m *image.NRGBA, _ int) *image.NRGBA { return hueFlip(m, 0.25) }, 0}},
	{name: "blank", reasons: []string{quality.ReasonBlank},
		strong: level{"blanked to the mean colour ±1 level", func(m *image.NRGBA, _ int) *image.NRGBA { return blanked(m) }, 0}},
}

// px is one pixel at 1024 px in an image of the given long side.
func px(long int) float64 { return float64(long) / 1024 }

// proceduralCount is how many procedural images the set has.
const proceduralCount = 24

// proceduralRequest is the i-th procedural image's request: six garments,
// four palettes (nil: the provider's fallback), 512 and 1024 px in turn.
func proceduralRequest(i int) generation.ProviderRequest {
	prompts := []string{"navy wool coat", "linen summer dress", "leather boots", "silk scarf", "denim jacket", "knitted jumper"}
	palettes := [][]generation.Color{
		nil, // the provider's fallback palette
		{{R: 20, G: 30, B: 90, Weight: 0.6}, {R: 230, G: 220, B: 200, Weight: 0.4}},
		{{R: 200, G: 60, B: 50, Weight: 0.5}, {R: 240, G: 240, B: 235, Weight: 0.3}, {R: 30, G: 30, B: 30, Weight: 0.2}},
		{{R: 90, G: 140, B: 80, Weight: 0.5}, {R: 220, G: 200, B: 150, Weight: 0.5}},
	}
	side := 512
	if i%2 == 1 {
		side = 1024
	}
	return generation.ProviderRequest{
		Prompt: prompts[i%len(prompts)], Seed: int64(1000 + i), Width: side, Height: side * 3 / 4, ReferencePalette: palettes[i%len(palettes)],
	}
}

// proceduralReference is the reference image a user would have uploaded
// for the i-th procedural image: another rendering of the same garment in
// the same palette (another seed), so that a generation is judged against
// a picture like it, not against itself, as in the pipeline.
func proceduralReference(ctx context.Context, i int) (*generation.Tone, error) {
	req := proceduralRequest(i)
	req.Seed += 10_000
	got, err := procedural.New(procedural.Options{NoDefects: true}).Generate(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("bench-quality: procedural reference: %w", err)
	}
	features, _, err := quality.Inspect(got.Bytes)
	if err != nil {
		return nil, fmt.Errorf("bench-quality: procedural reference: %w", err)
	}
	return features.Tone, nil
}

// calibrationSet builds the clean images: procedural ones (the request
// palette is the reference, as in the pipeline; the report adds the tone of
// another rendering, see proceduralReference) and the Debian pictures and
// those derived from them (their own palette is the reference, as if the
// user had uploaded them; the report inspects the clean file for its tone).
func calibrationSet(ctx context.Context) ([]sample, error) {
	var set []sample
	gen := procedural.New(procedural.Options{NoDefects: true})
	for i := range proceduralCount {
		req := proceduralRequest(i)
		got, err := gen.Generate(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("bench-quality: procedural: %w", err)
		}
		img, _, err := image.Decode(bytes.NewReader(got.Bytes))
		if err != nil {
			return nil, fmt.Errorf("bench-quality: decode procedural: %w", err)
		}
		ref := req.ReferencePalette
		if ref == nil {
			ref = quality.Palette(img) // no request palette: judge against what it drew
		}
		set = append(set, sample{name: fmt.Sprintf("procedural-%02d-%d", i, req.Width), kind: kindProcedural, origin: fmt.Sprintf("procedural-%02d", i), img: toNRGBA(img), ref: ref})
	}
	byName := map[string]*image.NRGBA{}
	for _, src := range photoSources {
		img, err := loadPhoto(src.path, 1024)
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(filepath.Base(src.path), filepath.Ext(src.path))
		byName[name] = img
		set = append(set, sample{name: src.kind + "-" + name, kind: src.kind, origin: name, img: img, ref: quality.Palette(img), jpeg: true})
	}
	add := func(kind, name string, img *image.NRGBA) {
		set = append(set, sample{name: kind + "-" + name, kind: kind, origin: strings.TrimSuffix(name, "-fake"), img: img, ref: quality.Palette(img), jpeg: true})
	}
	for _, n := range productSubjects {
		add(kindProduct, n, productShot(byName[n]))
	}
	for _, n := range lowKeyGrades {
		add(kindLowKey, n, mapChannels(byName[n], gammaOf(2.2)))
	}
	for _, n := range dofFakes {
		add(kindDOF, n+"-fake", fakeDOF(byName[n]))
	}
	return set, nil
}

// loadPhoto decodes a JPEG, PNG or WebP file and, when long > 0, scales it
// to that long side (generator-sized; it also removes the file's own JPEG
// grid).
func loadPhoto(path string, long int) (*image.NRGBA, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bench-quality: %w (install the Debian package: make bench-quality does)", err)
	}
	var src image.Image
	switch strings.ToLower(filepath.Ext(path)) {
	case ".webp":
		src, err = webp.Decode(bytes.NewReader(data))
	case ".png":
		src, err = png.Decode(bytes.NewReader(data))
	default:
		src, err = jpeg.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("bench-quality: decode %s: %w", path, err)
	}
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	if long > 0 {
		w, h = w*long/max(w, h), h*long/max(w, h)
	}
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	xdraw.CatmullRom.Scale(dst, dst.Rect, src, b, xdraw.Src, nil)
	return dst, nil
}

// productShot cuts a feathered ellipse out of the centre of img and places
// it on a 1024×1024 white canvas, the subject taking ~45 % of the width,
// with a soft grey shadow under it.
func productShot(img *image.NRGBA) *image.NRGBA {
	const side = 1024
	out := image.NewNRGBA(image.Rect(0, 0, side, side))
	for i := range out.Pix {
		out.Pix[i] = 255
	}
	b := img.Rect
	crop := min(b.Dx(), b.Dy()) * 6 / 10
	sub := image.NewNRGBA(image.Rect(0, 0, side*45/100, side*55/100))
	src := image.Rect(b.Dx()/2-crop/2, b.Dy()/2-crop*55/90, b.Dx()/2+crop/2, b.Dy()/2+crop*55/90)
	xdraw.CatmullRom.Scale(sub, sub.Rect, img, src, xdraw.Src, nil)
	ox, oy := (side-sub.Rect.Dx())/2, (side-sub.Rect.Dy())/2-30
	cx, cy := float64(sub.Rect.Dx())/2, float64(sub.Rect.Dy())/2
	// The shadow: a soft dark ellipse under the subject.
	for y := range side {
		for x := range side {
			dx, dy := (float64(x)-float64(side)/2)/(cx*1.1), (float64(y)-float64(oy)-2*cy-10)/22
			if d := dx*dx + dy*dy; d < 1 {
				o := out.Pix[y*out.Stride+4*x:]
				v := clampByte(255 - 60*(1-d))
				o[0], o[1], o[2] = v, v, v
			}
		}
	}
	for y := range sub.Rect.Dy() {
		for x := range sub.Rect.Dx() {
			dx, dy := (float64(x)-cx)/cx, (float64(y)-cy)/cy
			a := min(1, max(0, (1-math.Sqrt(dx*dx+dy*dy))*12)) // ~4 % feather
			if a == 0 {
				continue
			}
			p := sub.Pix[y*sub.Stride+4*x:]
			o := out.Pix[(y+oy)*out.Stride+4*(x+ox):]
			for c := range 3 {
				o[c] = clampByte(a*float64(p[c]) + (1-a)*float64(o[c]))
			}
		}
	}
	return out
}

// fakeDOF blurs img with σ = 5 px outside a centred ellipse (a third of
// the width, 40 % of the height), feathered over 10 % of the radius.
func fakeDOF(img *image.NRGBA) *image.NRGBA {
	long := max(img.Rect.Dx(), img.Rect.Dy())
	soft := gaussianBlur(img, 5*px(long))
	out := image.NewNRGBA(img.Rect)
	w, h := img.Rect.Dx(), img.Rect.Dy()
	rx, ry := float64(w)/6, float64(h)/5
	for y := range h {
		for x := range w {
			dx, dy := (float64(x)-float64(w)/2)/rx, (float64(y)-float64(h)/2)/ry
			a := min(1, max(0, (1.1-math.Sqrt(dx*dx+dy*dy))*10)) // 1 inside: sharp
			i := y*img.Stride + 4*x
			for c := range 3 {
				out.Pix[i+c] = clampByte(a*float64(img.Pix[i+c]) + (1-a)*float64(soft.Pix[i+c]))
			}
			out.Pix[i+3] = 255
		}
	}
	return out
}
