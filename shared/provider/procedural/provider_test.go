package procedural_test

import (
	"bytes"
	"context"
	"image"
	"image/draw"
	_ "image/jpeg" // decoders for image.Decode
	_ "image/png"
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/provider/procedural"
)

// A designer's palette: cream background, navy, terracotta.
var creamNavy = []generation.Color{
	{R: 236, G: 228, B: 212, Weight: 0.6},
	{R: 34, G: 48, B: 96, Weight: 0.25},
	{R: 200, G: 96, B: 60, Weight: 0.15},
}

// A palette far from creamNavy: sage background, plum, mustard.
var sagePlum = []generation.Color{
	{R: 120, G: 160, B: 110, Weight: 0.6},
	{R: 110, G: 40, B: 110, Weight: 0.25},
	{R: 210, G: 170, B: 40, Weight: 0.15},
}

// A dark palette, to check that auto-exposure still gives a normal picture.
var charcoal = []generation.Color{
	{R: 30, G: 30, B: 34, Weight: 0.7},
	{R: 10, G: 10, B: 12, Weight: 0.3},
}

// seedFor returns the first seed from 1 on whose decided defect is want.
func seedFor(t *testing.T, q procedural.Quirks, mods []string, want procedural.Defect) int64 {
	t.Helper()
	for s := int64(1); s < 100_000; s++ {
		if q.Decide(mods, s) == want {
			return s
		}
	}
	require.FailNow(t, "no seed decides the defect", "defect %q", want)
	return 0
}

// pixels are an image's BT.601 luma (0–255) and its colours.
type pixels struct {
	w, h int
	luma []float64
	rgb  [][3]float64
}

func decode(t *testing.T, data []byte) (pixels, string) {
	t.Helper()
	m, format, err := image.Decode(bytes.NewReader(data))
	require.NoError(t, err)
	b := m.Bounds()
	rgba := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(rgba, rgba.Rect, m, b.Min, draw.Src)
	p := pixels{w: b.Dx(), h: b.Dy(), luma: make([]float64, 0, b.Dx()*b.Dy()), rgb: make([][3]float64, 0, b.Dx()*b.Dy())}
	for i := 0; i < len(rgba.Pix); i += 4 {
		c := [3]float64{float64(rgba.Pix[i]), float64(rgba.Pix[i+1]), float64(rgba.Pix[i+2])}
		p.rgb = append(p.rgb, c)
		p.luma = append(p.luma, 0.299*c[0]+0.587*c[1]+0.114*c[2])
	}
	return p, format
}

// meanLuma is the mean luma on a 0–1 scale.
func (p pixels) meanLuma() float64 {
	var s float64
	for _, v := range p.luma {
		s += v
	}
	return s / float64(len(p.luma)) / 255
}

// lumaStd is the standard deviation of luma in levels.
func (p pixels) lumaStd() float64 {
	m := p.meanLuma() * 255
	var s float64
	for _, v := range p.luma {
		s += (v - m) * (v - m)
	}
	return math.Sqrt(s / float64(len(p.luma)))
}

// laplacianVar is the variance of the 4-neighbour Laplacian over interior pixels.
func (p pixels) laplacianVar() float64 {
	var s, s2, n float64
	for y := 1; y < p.h-1; y++ {
		for x := 1; x < p.w-1; x++ {
			i := y*p.w + x
			l := p.luma[i-p.w] + p.luma[i+p.w] + p.luma[i-1] + p.luma[i+1] - 4*p.luma[i]
			s += l
			s2 += l * l
			n++
		}
	}
	return s2/n - (s/n)*(s/n)
}

// clipped is the share of pixels with luma at or above 250.
func (p pixels) clipped() float64 {
	k := 0
	for _, v := range p.luma {
		if v >= 250 {
			k++
		}
	}
	return float64(k) / float64(len(p.luma))
}

// nearPalette is the share of pixels within dist (RGB Euclidean) of a palette colour.
func (p pixels) nearPalette(pal []generation.Color, dist float64) float64 {
	k := 0
	for _, c := range p.rgb {
		if distance(c, pal) <= dist {
			k++
		}
	}
	return float64(k) / float64(len(p.rgb))
}

// dominant returns the mean colours of the k most populated cells of a
// coarse 8×8×8 RGB grid, most populated first.
func (p pixels) dominant(k int) [][3]float64 {
	type cell struct {
		n   int
		sum [3]float64
	}
	cells := make([]cell, 512)
	for _, c := range p.rgb {
		cl := &cells[int(c[0])/32*64+int(c[1])/32*8+int(c[2])/32]
		cl.n++
		for ch := range 3 {
			cl.sum[ch] += c[ch]
		}
	}
	all := slices.SortedFunc(slices.Values(cells), func(a, b cell) int { return b.n - a.n })
	var out [][3]float64
	for _, c := range all[:min(k, len(all))] {
		out = append(out, [3]float64{c.sum[0] / float64(c.n), c.sum[1] / float64(c.n), c.sum[2] / float64(c.n)})
	}
	return out
}

// distance is the RGB distance from c to the nearest palette colour.
func distance(c [3]float64, pal []generation.Color) float64 {
	best := math.Inf(1)
	for _, q := range pal {
		dr, dg, db := c[0]-float64(q.R), c[1]-float64(q.G), c[2]-float64(q.B)
		best = min(best, dr*dr+dg*dg+db*db)
	}
	return math.Sqrt(best)
}

func generate(t *testing.T, p *procedural.Provider, req generation.ProviderRequest) generation.Image {
	t.Helper()
	img, err := p.Generate(context.Background(), req)
	require.NoError(t, err)
	return img
}

func TestGenerateIsDeterministic(t *testing.T) {
	t.Parallel()
	p := procedural.New(procedural.Options{})
	base := generation.ProviderRequest{Prompt: "linen summer dress", Seed: 7, Width: 256, Height: 256, ReferencePalette: creamNavy}
	first := generate(t, p, base)
	tests := []struct {
		name  string
		req   func(r generation.ProviderRequest) generation.ProviderRequest
		equal bool
	}{
		{"same request", func(r generation.ProviderRequest) generation.ProviderRequest { return r }, true},
		{"new provider, same request", nil, true},
		{"other seed", func(r generation.ProviderRequest) generation.ProviderRequest { r.Seed = 8; return r }, false},
		{"other prompt", func(r generation.ProviderRequest) generation.ProviderRequest { r.Prompt += ", editorial"; return r }, false},
		{"other palette", func(r generation.ProviderRequest) generation.ProviderRequest { r.ReferencePalette = sagePlum; return r }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			prov, req := p, base
			if tt.req == nil {
				prov = procedural.New(procedural.Options{})
			} else {
				req = tt.req(base)
			}
			got := generate(t, prov, req)
			if tt.equal {
				require.Equal(t, first.Bytes, got.Bytes)
			} else {
				require.NotEqual(t, first.Bytes, got.Bytes)
			}
		})
	}
}

func TestGenerateFormatsAndSizes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		model         string
		width, height int
		wantModel     string
		wantType      string
		wantFormat    string
		wantW, wantH  int
	}{
		{"defaults", "", 0, 0, "procedural-v1", "image/png", "png", 512, 512},
		{"png model", "procedural-v1", 640, 384, "procedural-v1", "image/png", "png", 640, 384},
		{"jpeg model", "procedural-jpeg", 300, 500, "procedural-jpeg", "image/jpeg", "jpeg", 300, 500},
		{"jpg spelling", "Procedural-JPG", 128, 128, "Procedural-JPG", "image/jpeg", "jpeg", 128, 128},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := procedural.New(procedural.Options{})
			img := generate(t, p, generation.ProviderRequest{Model: tt.model, Prompt: "wool coat", Seed: 3, Width: tt.width, Height: tt.height})
			require.Equal(t, tt.wantType, img.ContentType)
			require.Equal(t, tt.wantModel, img.Model)
			require.Equal(t, tt.wantW, img.Width)
			require.Equal(t, tt.wantH, img.Height)
			cfg, format, err := image.DecodeConfig(bytes.NewReader(img.Bytes))
			require.NoError(t, err)
			require.Equal(t, tt.wantFormat, format)
			require.Equal(t, tt.wantW, cfg.Width)
			require.Equal(t, tt.wantH, cfg.Height)
			_, _, err = image.Decode(bytes.NewReader(img.Bytes))
			require.NoError(t, err)
		})
	}
}

func TestGenerateCostAndName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		price float64
		want  float64
	}{
		{"default price", 0, 0.002},
		{"set price", 0.04, 0.04},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := procedural.New(procedural.Options{PricePerImageUSD: tt.price})
			require.Equal(t, "procedural", p.Name())
			img := generate(t, p, generation.ProviderRequest{Prompt: "scarf", Seed: 1, Width: 64, Height: 64})
			require.InDelta(t, tt.want, img.CostUSD, 1e-12)
		})
	}
}

func TestCleanImagesAreWellExposedAndSharp(t *testing.T) {
	t.Parallel()
	q := procedural.QuirkTable(procedural.DefaultQuirkSeed)
	p := procedural.New(procedural.Options{})
	var clean []int64
	for s := int64(1); len(clean) < 3; s++ {
		if q.Decide(nil, s) == procedural.NoDefect {
			clean = append(clean, s)
		}
	}
	tests := []struct {
		name    string
		model   string
		palette []generation.Color
	}{
		{"reference palette", "", creamNavy},
		{"other palette", "", sagePlum},
		{"no palette", "", nil},
		{"dark palette", "", charcoal},
		{"jpeg", "procedural-jpeg", creamNavy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, seed := range clean {
				img := generate(t, p, generation.ProviderRequest{Model: tt.model, Prompt: "denim jacket", Seed: seed, ReferencePalette: tt.palette})
				px, _ := decode(t, img.Bytes)
				require.InDelta(t, 0.5, px.meanLuma(), 0.3, "seed %d: mean luma", seed)
				require.Greater(t, px.lumaStd(), 10.0, "seed %d: luma std", seed)
				require.Greater(t, px.laplacianVar(), 150.0, "seed %d: Laplacian variance", seed)
				require.Less(t, px.clipped(), 0.05, "seed %d: clipped share", seed)
			}
		})
	}
}

func TestGenerateFollowsThePalette(t *testing.T) {
	t.Parallel()
	q := procedural.QuirkTable(procedural.DefaultQuirkSeed)
	p := procedural.New(procedural.Options{})
	var seeds []int64
	for s := int64(1); len(seeds) < 3; s++ {
		if q.Decide(nil, s) == procedural.NoDefect {
			seeds = append(seeds, s)
		}
	}
	tests := []struct {
		name      string
		palette   []generation.Color
		unrelated []generation.Color
	}{
		{"cream and navy", creamNavy, sagePlum},
		{"sage and plum", sagePlum, creamNavy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, seed := range seeds {
				img := generate(t, p, generation.ProviderRequest{Prompt: "pleated skirt", Seed: seed, Width: 256, Height: 256, ReferencePalette: tt.palette})
				px, _ := decode(t, img.Bytes)
				for i, c := range px.dominant(3) {
					require.Less(t, distance(c, tt.palette), 60.0, "seed %d: dominant colour %d %v is off the palette", seed, i, c)
					require.Greater(t, distance(c, tt.unrelated), 60.0, "seed %d: dominant colour %d %v", seed, i, c)
				}
				require.Greater(t, px.nearPalette(tt.palette, 60), 0.6, "seed %d: share of pixels near the reference palette", seed)
				require.Less(t, px.nearPalette(tt.unrelated, 60), 0.2, "seed %d: share of pixels near an unrelated palette", seed)
			}
		})
	}
}

func TestDefectsShowInPixels(t *testing.T) {
	t.Parallel()
	q := procedural.QuirkTable(procedural.DefaultQuirkSeed)
	p := procedural.New(procedural.Options{})
	tests := []struct {
		name   string
		defect procedural.Defect
		check  func(t *testing.T, px pixels)
	}{
		{"underexposed: mean luma below 0.12", procedural.Underexposed, func(t *testing.T, px pixels) {
			require.Less(t, px.meanLuma(), 0.12)
			require.Greater(t, px.lumaStd(), 2.0, "dark, not blank")
		}},
		{"overexposed: most pixels clipped", procedural.Overexposed, func(t *testing.T, px pixels) {
			require.Greater(t, px.clipped(), 0.6)
		}},
		{"blurry: Laplacian variance collapses", procedural.Blurry, func(t *testing.T, px pixels) {
			require.Less(t, px.laplacianVar(), 30.0)
			require.InDelta(t, 0.5, px.meanLuma(), 0.3, "exposure untouched")
		}},
		{"blank: near-uniform", procedural.Blank, func(t *testing.T, px pixels) {
			require.Less(t, px.lumaStd(), 2.0)
		}},
		{"noisy: strong noise", procedural.Noisy, func(t *testing.T, px pixels) {
			require.Greater(t, px.laplacianVar(), 5000.0)
		}},
		{"duplicate: a clean picture", procedural.Duplicate, func(t *testing.T, px pixels) {
			require.InDelta(t, 0.5, px.meanLuma(), 0.3)
			require.Greater(t, px.laplacianVar(), 150.0)
		}},
	}
	for _, tt := range tests {
		for _, model := range []string{"procedural-v1", "procedural-jpeg"} {
			t.Run(tt.name+"/"+model, func(t *testing.T) {
				t.Parallel()
				seed := seedFor(t, q, nil, tt.defect)
				img := generate(t, p, generation.ProviderRequest{Model: model, Prompt: "silk blouse", Seed: seed, ReferencePalette: creamNavy})
				px, _ := decode(t, img.Bytes)
				tt.check(t, px)
			})
		}
	}
}

func TestDuplicatesRepeatAcrossPrompts(t *testing.T) {
	t.Parallel()
	q := procedural.QuirkTable(procedural.DefaultQuirkSeed)
	p := procedural.New(procedural.Options{})
	var dups []int64 // seeds deciding Duplicate, in order
	for s := int64(1); len(dups) < 40; s++ {
		if q.Decide(nil, s) == procedural.Duplicate {
			dups = append(dups, s)
		}
	}
	// Find two duplicates that share a stock image and one that does not.
	var a, b, c int64
	for _, s := range dups[1:] {
		if s%2 == dups[0]%2 && b == 0 {
			b = s
		}
		if s%2 != dups[0]%2 && c == 0 {
			c = s
		}
	}
	a = dups[0]
	require.NotZero(t, b)
	require.NotZero(t, c)
	req := func(seed int64, prompt string) generation.ProviderRequest {
		return generation.ProviderRequest{Prompt: prompt, Seed: seed, Width: 256, Height: 256, ReferencePalette: creamNavy}
	}
	tests := []struct {
		name  string
		x, y  generation.ProviderRequest
		equal bool
	}{
		{"same stock image, different prompts", req(a, "trench coat, editorial"), req(b, "trench coat, calm"), true},
		{"other stock image", req(a, "trench coat"), req(c, "trench coat"), false},
		{"clean images differ", req(seedFor(t, q, nil, procedural.NoDefect), "trench coat"), req(a, "trench coat"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			x, y := generate(t, p, tt.x), generate(t, p, tt.y)
			if tt.equal {
				require.Equal(t, x.Bytes, y.Bytes)
			} else {
				require.NotEqual(t, x.Bytes, y.Bytes)
			}
		})
	}
}

func TestSafetyFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		terms    []string
		prompt   string
		wantTerm string // "" means not filtered
	}{
		{"no terms by default", nil, "a nude beach dress", ""},
		{"matching term, any case", []string{"Nude"}, "a NUDE beach dress", "nude"},
		{"second term", []string{"weapon", "blood "}, "a dress with blood stains", "blood"},
		{"no match", []string{"weapon"}, "a calm linen dress", ""},
		{"blank terms ignored", []string{"", "  "}, "a calm linen dress", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := procedural.New(procedural.Options{FilterTerms: tt.terms})
			img, err := p.Generate(context.Background(), generation.ProviderRequest{Prompt: tt.prompt, Seed: 1, Width: 32, Height: 32})
			if tt.wantTerm == "" {
				require.NoError(t, err)
				require.NotEmpty(t, img.Bytes)
				return
			}
			pe, ok := generation.AsProviderError(err)
			require.True(t, ok, "want a *ProviderError, got %v", err)
			require.Equal(t, generation.ProviderFiltered, pe.Kind)
			require.Equal(t, "procedural", pe.Provider)
			require.Contains(t, pe.Reason, `prompt matched safety term "`+tt.wantTerm)
			require.Empty(t, img.Bytes)
		})
	}
}

func TestGenerateRejects(t *testing.T) {
	t.Parallel()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name     string
		ctx      context.Context
		w, h     int
		wantKind generation.ProviderErrorKind // "" means a context error
	}{
		{"too small", context.Background(), 8, 512, generation.ProviderInvalidRequest},
		{"too large", context.Background(), 512, 5000, generation.ProviderInvalidRequest},
		{"negative", context.Background(), -1, 512, generation.ProviderInvalidRequest},
		{"cancelled", cancelled, 512, 512, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := procedural.New(procedural.Options{})
			_, err := p.Generate(tt.ctx, generation.ProviderRequest{Prompt: "hat", Seed: 1, Width: tt.w, Height: tt.h})
			require.Error(t, err)
			if tt.wantKind == "" {
				require.ErrorIs(t, err, context.Canceled)
				return
			}
			pe, ok := generation.AsProviderError(err)
			require.True(t, ok)
			require.Equal(t, tt.wantKind, pe.Kind)
		})
	}
}

func BenchmarkGenerate512(b *testing.B) {
	benchmarkGenerate(b, "procedural-v1")
}

func BenchmarkGenerate512JPEG(b *testing.B) {
	benchmarkGenerate(b, "procedural-jpeg")
}

func benchmarkGenerate(b *testing.B, model string) {
	p := procedural.New(procedural.Options{})
	ctx := context.Background()
	seed := int64(0)
	for b.Loop() {
		seed++
		if _, err := p.Generate(ctx, generation.ProviderRequest{Model: model, Prompt: "linen dress", Seed: seed, Width: 512, Height: 512, ReferencePalette: creamNavy}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestNoDefectsRendersEveryImageClean(t *testing.T) {
	t.Parallel()
	q := procedural.QuirkTable(procedural.DefaultQuirkSeed)
	clean := procedural.New(procedural.Options{NoDefects: true})
	for _, want := range []procedural.Defect{procedural.Blank, procedural.Blurry, procedural.Underexposed} {
		seed := seedFor(t, q, nil, want)
		img := generate(t, clean, generation.ProviderRequest{Prompt: "denim jacket", Seed: seed, ReferencePalette: creamNavy})
		px, _ := decode(t, img.Bytes)
		require.InDelta(t, 0.5, px.meanLuma(), 0.3, "seed %d would be %s", seed, want)
		require.Greater(t, px.lumaStd(), 10.0, "seed %d would be %s", seed, want)
		require.Greater(t, px.laplacianVar(), 150.0, "seed %d would be %s", seed, want)
	}
}
