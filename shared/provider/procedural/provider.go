// Package procedural is the embedded default image provider: it renders real
// PNG or JPEG images from a request's prompt, seed and reference palette,
// with no network and no API key, so the whole pipeline runs on one machine.
//
// The picture is a product shot of what the prompt asks for (see SceneOf):
// the named garment's silhouette (garments.go, rasterised by
// golang.org/x/image/vector) shaded with folds, seams and its material's
// texture and sheen (material.go), on a backdrop and in a light that follow
// the modifiers' words (scene.go, backdrop.go), in the reference palette.
// The modifiers change how the picture looks, never whether it is clean:
// that stays in the quirk table alone.
//
// Like a real provider it fails in realistic ways. After rendering, an image
// may get one defect (underexposed, overexposed, blurry, blank, noisy or
// duplicate; see Defect) with odds that depend on the request's modifiers,
// following a quirk table drawn from Options.QuirkSeed (see Quirks). The
// validator has to find the defects from pixels alone and the learner has to
// find the modifiers that cause them from outcomes alone.
//
// Everything is deterministic: the same request gives the same bytes.
package procedural

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"image"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"strings"

	"github.com/designerbff/pipeline/shared/generation"
)

// Defaults and limits.
const (
	DefaultQuirkSeed        = 42
	DefaultPricePerImageUSD = 0.002 // notional, so cost accounting is exercised
	DefaultModel            = "procedural-v1"
	DefaultSide             = 512
	MinSide                 = 16
	MaxSide                 = 4096
)

// duplicateVariants is how many stock images a duplicate can be. A duplicate
// is rendered from seed mod duplicateVariants with the prompt ignored, so two
// duplicates of one generation (same palette and size) are pixel-identical
// with probability 1/duplicateVariants.
const duplicateVariants = 2

// PCG streams that keep layout, duplicate and defect randomness apart.
const (
	duplicateStream = 0x5a17_c0de_d0b1_e5ed
	defectStream    = 0x0dd5_eed5_f00d_cafe
)

// Options configures a Provider. Zero values mean the defaults.
type Options struct {
	// QuirkSeed draws the defect table (0 means DefaultQuirkSeed). The caller
	// reads QUIRK_SEED; this package reads no environment.
	QuirkSeed int64
	// PricePerImageUSD is charged per image (0 means DefaultPricePerImageUSD).
	PricePerImageUSD float64
	// FilterTerms are safety-filtered: a prompt containing one of them
	// (case-insensitive) is refused with ProviderFiltered. None by default.
	FilterTerms []string
	// NoDefects renders every image clean: a provider that never fails, for
	// tests of the pipeline's happy path and its failure handling in
	// isolation from the quirk table.
	NoDefects bool
}

// Provider is the procedural image provider.
type Provider struct {
	quirks Quirks
	price  float64
	terms  []string // lower case, non-empty
	clean  bool
}

var _ generation.Provider = (*Provider)(nil)

// New returns a provider with opts applied over the defaults.
func New(opts Options) *Provider {
	seed := opts.QuirkSeed
	if seed == 0 {
		seed = DefaultQuirkSeed
	}
	price := opts.PricePerImageUSD
	if price == 0 {
		price = DefaultPricePerImageUSD
	}
	p := &Provider{quirks: QuirkTable(seed), price: price, clean: opts.NoDefects}
	for _, t := range opts.FilterTerms {
		if t = strings.ToLower(strings.TrimSpace(t)); t != "" {
			p.terms = append(p.terms, t)
		}
	}
	return p
}

// Name is the provider id, "procedural".
func (p *Provider) Name() string { return "procedural" }

// DefaultModel is the model of a request that names none.
func (p *Provider) DefaultModel() string { return DefaultModel }

// Generate renders one image. The format is JPEG when the model name
// mentions jpeg or jpg (e.g. "procedural-jpeg"), PNG otherwise. Width and
// height default to 512 and must be within MinSide–MaxSide.
func (p *Provider) Generate(ctx context.Context, req generation.ProviderRequest) (generation.Image, error) {
	if err := ctx.Err(); err != nil {
		return generation.Image{}, fmt.Errorf("procedural generate: %w", err)
	}
	lower := strings.ToLower(req.Prompt)
	for _, t := range p.terms {
		if strings.Contains(lower, t) {
			return generation.Image{}, &generation.ProviderError{
				Kind:     generation.ProviderFiltered,
				Provider: p.Name(),
				Reason:   fmt.Sprintf("prompt matched safety term %q", t),
			}
		}
	}
	w, h := req.Width, req.Height
	if w == 0 {
		w = DefaultSide
	}
	if h == 0 {
		h = DefaultSide
	}
	if w < MinSide || w > MaxSide || h < MinSide || h > MaxSide {
		return generation.Image{}, &generation.ProviderError{
			Kind:     generation.ProviderInvalidRequest,
			Provider: p.Name(),
			Reason:   fmt.Sprintf("size %dx%d outside %d–%d pixels", w, h, MinSide, MaxSide),
		}
	}
	model := req.Model
	if model == "" {
		model = DefaultModel
	}

	defect := p.quirks.Decide(req.Modifiers, req.Seed)
	if p.clean {
		defect = NoDefect
	}
	layout := rand.New(rand.NewPCG(uint64(req.Seed), promptHash(req.Prompt)))
	sc := parseScene(req.Prompt)
	if defect == Duplicate {
		// A stock picture: neither the garment nor the setting asked for.
		layout = rand.New(rand.NewPCG(uint64(req.Seed)%duplicateVariants, duplicateStream))
		sc = stockScene
	}
	pal := newPalette(req.ReferencePalette)
	img := render(w, h, layout, pal, sc)
	if err := ctx.Err(); err != nil {
		return generation.Image{}, fmt.Errorf("procedural generate: %w", err)
	}
	applyDefect(img, defect, rand.New(rand.NewPCG(uint64(req.Seed), defectStream)), pal)

	contentType, data, err := encode(img, model)
	if err != nil {
		return generation.Image{}, fmt.Errorf("procedural generate: %w", err)
	}
	return generation.Image{
		Bytes:       data,
		ContentType: contentType,
		Width:       w,
		Height:      h,
		Model:       model,
		CostUSD:     p.price,
	}, nil
}

func promptHash(prompt string) uint64 {
	f := fnv.New64a()
	f.Write([]byte(prompt))
	return f.Sum64()
}

// pngEncoder trades a larger file for speed: default compression takes more
// than twice as long to encode a grainy 512×512 picture.
var pngEncoder = png.Encoder{CompressionLevel: png.BestSpeed}

func encode(img image.Image, model string) (string, []byte, error) {
	var buf bytes.Buffer
	m := strings.ToLower(model)
	if strings.Contains(m, "jpeg") || strings.Contains(m, "jpg") {
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
			return "", nil, fmt.Errorf("encode jpeg: %w", err)
		}
		return "image/jpeg", buf.Bytes(), nil
	}
	if err := pngEncoder.Encode(&buf, img); err != nil {
		return "", nil, fmt.Errorf("encode png: %w", err)
	}
	return "image/png", buf.Bytes(), nil
}
