package procedural_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/learning"
	"github.com/designerbff/pipeline/shared/provider/procedural"
	"github.com/designerbff/pipeline/shared/quality"
)

func TestSceneOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		prompt   string
		garment  procedural.Garment
		material procedural.Material
	}{
		{"linen summer dress, product photo", procedural.Dress, procedural.Linen},
		{"denim jacket, street style", procedural.Jacket, procedural.Denim},
		{"wool overcoat, editorial", procedural.Coat, procedural.Wool},
		{"silk scarf, studio", procedural.Scarf, procedural.Silk},
		{"leather ankle boots, catalog", procedural.Boots, procedural.Leather},
		{"chunky knit sweater, lookbook", procedural.Sweater, procedural.Knit},
		{"pleated skirt", procedural.Skirt, procedural.Cotton},
		{"slim jeans", procedural.Trousers, procedural.Denim},
		{"suede tote bag", procedural.Bag, procedural.Leather},
		{"felt fedora, editorial", procedural.Hat, procedural.Wool},
		{"white sneakers", procedural.Shoes, procedural.Leather},
		{"dress shirt", procedural.Shirt, procedural.Cotton},
		{"shirt dress", procedural.Dress, procedural.Cotton},
		{"chunky knit, lookbook", procedural.Sweater, procedural.Knit},
		{"something nice", procedural.Shirt, procedural.Cotton},
	}
	for _, tt := range tests {
		t.Run(tt.prompt, func(t *testing.T) {
			t.Parallel()
			g, m := procedural.SceneOf(tt.prompt)
			require.Equal(t, tt.garment, g)
			require.Equal(t, tt.material, m)
		})
	}
}

// navyCream is the stack tests' reference: a dark background, one light colour.
var navyCream = []generation.Color{{R: 20, G: 30, B: 90, Weight: 0.6}, {R: 230, G: 220, B: 200, Weight: 0.4}}

// palettes the validator tests rotate through: the reference palettes of
// provider_test.go, a dark one and none.
var palettes = [][]generation.Color{creamNavy, sagePlum, charcoal, navyCream, nil}

// spec is what the pipeline judges a procedural image against.
func spec(pal []generation.Color, side int) generation.ValidationSpec {
	return generation.ValidationSpec{Width: side, Height: side, Reference: generation.ReferenceFeatures{Palette: pal}}
}

// Every clean picture passes the validator, whatever the garment, the
// palette and the catalog modifier: what a modifier does to the odds stays
// in the quirk table, where the learner cannot read it.
func TestCleanImagesPassTheValidatorWithEveryModifier(t *testing.T) {
	t.Parallel()
	p := procedural.New(procedural.Options{NoDefects: true})
	v := quality.New(0)
	const side = 192
	var mods [][]string
	for _, g := range learning.Catalog {
		for _, m := range g.Modifiers {
			mods = append(mods, []string{m})
		}
	}
	singles := len(mods)
	// And combinations as the planner draws them, one modifier a group.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 30 {
		var combo []string
		for _, g := range learning.Catalog {
			combo = append(combo, g.Modifiers[rng.IntN(len(g.Modifiers))])
		}
		mods = append(mods, combo)
	}
	mods = append(mods, nil, []string{"low-key lighting", "textured wall", "close-up detail", "high contrast", "night scene"},
		[]string{"golden hour", "plain white background", "wide shot", "pastel tones", "airy"})
	for i, m := range mods {
		// A single modifier keeps a margin above the threshold; five at
		// once may stack their looks but still pass.
		margin, models := 75.0, []string{"procedural-v1", "procedural-jpeg"}
		if i >= singles {
			margin, models = quality.DefaultMinScore, models[:1]
		}
		t.Run(fmt.Sprint(m), func(t *testing.T) {
			t.Parallel()
			for j, prompt := range procedural.SamplePrompts {
				pal := palettes[(i+j)%len(palettes)]
				for _, model := range models {
					img := generate(t, p, generation.ProviderRequest{Model: model, Prompt: generation.ComposePrompt(prompt, m), Modifiers: m,
						Seed: int64(100*i + j), Width: side, Height: side, ReferencePalette: pal})
					verdict, err := v.Validate(context.Background(), img.Bytes, spec(pal, side))
					require.NoError(t, err)
					require.True(t, verdict.Passed, "%s %s: score %.1f, reasons %v, metrics %v", prompt, model, verdict.Score, verdict.Reasons, verdict.Metrics)
					require.GreaterOrEqual(t, verdict.Score, margin, "%s %s: a margin above the threshold; metrics %v", prompt, model, verdict.Metrics)
				}
			}
		})
	}
}

// A generation asks for many images of one prompt: its clean pictures must
// not look like near-copies to the validator, or the pipeline would discard
// them as duplicates.
func TestCleanImagesOfOnePromptAreNotDuplicates(t *testing.T) {
	t.Parallel()
	p := procedural.New(procedural.Options{NoDefects: true})
	v := quality.New(0)
	for _, prompt := range procedural.SamplePrompts {
		t.Run(prompt, func(t *testing.T) {
			t.Parallel()
			var verdicts []generation.Verdict
			for seed := range int64(24) {
				img := generate(t, p, generation.ProviderRequest{Prompt: prompt, Seed: seed + 1, Width: 192, Height: 192, ReferencePalette: creamNavy})
				verdict, err := v.Validate(context.Background(), img.Bytes, spec(creamNavy, 192))
				require.NoError(t, err)
				verdicts = append(verdicts, verdict)
			}
			same := 0
			for i := range verdicts {
				for j := range i {
					if v.SameImage(verdicts[i], verdicts[j]) {
						same++
					}
				}
			}
			// 276 pairs; a real camera's burst has a few near-copies too.
			require.LessOrEqual(t, same, 3, "pairs the validator calls the same image")
		})
	}
}

// Every seeded defect is found by the validator with its reason, on every
// garment.
func TestDefectsAreFoundWithTheirReason(t *testing.T) {
	t.Parallel()
	q := procedural.QuirkTable(procedural.DefaultQuirkSeed)
	p := procedural.New(procedural.Options{})
	v := quality.New(0)
	tests := []struct {
		defect procedural.Defect
		reason string
	}{
		{procedural.Underexposed, quality.ReasonUnderexposed},
		{procedural.Overexposed, quality.ReasonOverexposed},
		{procedural.Blurry, quality.ReasonBlurry},
		{procedural.Blank, quality.ReasonBlank},
		{procedural.Noisy, quality.ReasonNoisy},
	}
	for _, tt := range tests {
		t.Run(string(tt.defect), func(t *testing.T) {
			t.Parallel()
			seed := seedFor(t, q, nil, tt.defect)
			for i, prompt := range procedural.SamplePrompts {
				pal := palettes[i%len(palettes)]
				img := generate(t, p, generation.ProviderRequest{Prompt: prompt, Seed: seed, Width: 256, Height: 256, ReferencePalette: pal})
				verdict, err := v.Validate(context.Background(), img.Bytes, spec(pal, 256))
				require.NoError(t, err)
				require.False(t, verdict.Passed, prompt)
				require.Contains(t, verdict.Reasons, tt.reason, prompt)
			}
		})
	}
	t.Run("duplicate", func(t *testing.T) {
		t.Parallel()
		// Two duplicates of one stock picture, asked for different garments.
		var dups []int64
		for s := int64(1); len(dups) < 2; s++ {
			if q.Decide(nil, s) == procedural.Duplicate && (len(dups) == 0 || s%2 == dups[0]%2) {
				dups = append(dups, s)
			}
		}
		var verdicts []generation.Verdict
		for i, seed := range dups {
			img := generate(t, p, generation.ProviderRequest{Prompt: procedural.SamplePrompts[i], Seed: seed, Width: 256, Height: 256, ReferencePalette: creamNavy})
			verdict, err := v.Validate(context.Background(), img.Bytes, spec(creamNavy, 256))
			require.NoError(t, err)
			verdicts = append(verdicts, verdict)
		}
		require.True(t, v.SameImage(verdicts[0], verdicts[1]))
		cands := []generation.Candidate{{ID: "a", Index: 0, Verdict: &verdicts[0]}, {ID: "b", Index: 1, Verdict: &verdicts[1]}}
		got, marked := generation.MarkDuplicates(cands, v.SameImage)
		require.Len(t, marked, 1)
		require.True(t, slices.ContainsFunc(got, func(c generation.Candidate) bool {
			return slices.Contains(c.Verdict.Reasons, quality.ReasonDuplicate)
		}))
	})
}

// In the pipeline a generation is judged against the user's reference
// image, and it is a new scene: the modifiers change the backdrop and the
// light on purpose. Clean renders with catalog modifiers must pass against
// reference images of other scenes, so the validator's checks against the
// reference's tone (exposure in stops, detail, grain, greys, gaps) cannot
// be fooled by a new backdrop or light. Found by the learning benchmark:
// checks calibrated against each picture's own clean version failed most
// of these (colour_cast on 53 of 60 against the navy knitwear).
func TestCleanImagesPassAgainstAReferenceOfAnotherScene(t *testing.T) {
	t.Parallel()
	p := procedural.New(procedural.Options{NoDefects: true})
	v := quality.New(0)
	refs := []generation.ProviderRequest{
		// The demo's reference (infra/local/stack.DemoReference).
		{Prompt: "reference: navy and cream knitwear", Seed: 2026, Width: 320, Height: 400,
			ReferencePalette: []generation.Color{{R: 28, G: 40, B: 84, Weight: 0.45}, {R: 232, G: 222, B: 200, Weight: 0.35}, {R: 176, G: 60, B: 48, Weight: 0.2}}},
		{Prompt: "charcoal wool coat, plain white background", Modifiers: []string{"plain white background"}, Seed: 7, Width: 512, Height: 512, ReferencePalette: charcoal},
		{Prompt: "linen dress, low-key lighting", Modifiers: []string{"low-key lighting"}, Seed: 8, Width: 512, Height: 512, ReferencePalette: sagePlum},
		{Prompt: "denim jacket, soft daylight", Modifiers: []string{"soft daylight", "pastel tones"}, Seed: 9, Width: 512, Height: 512, ReferencePalette: creamNavy},
		// Cream with a dark accent of 7 % (the provider's fallback palette):
		// renders in cream have no dark tone and are not washed out.
		{Prompt: "silk scarf", Seed: 99, Width: 512, Height: 512},
		{Prompt: "leather boots, golden hour", Modifiers: []string{"golden hour"}, Seed: 98, Width: 512, Height: 512},
		// A muted scheme: dusty pink in low-key light, nearly all of its
		// frame near-neutral; its "greys" are the garment's colour.
		{Prompt: "chunky knit sweater, low-key lighting", Modifiers: []string{"low-key lighting"}, Seed: 508, Width: 512, Height: 512,
			ReferencePalette: []generation.Color{{R: 230, G: 190, B: 200, Weight: 0.6}, {R: 190, G: 220, B: 230, Weight: 0.4}}},
		// The stack tests' reference: 128 px.
		{Prompt: "navy wool coat", Seed: 7, Width: 128, Height: 128,
			ReferencePalette: []generation.Color{{R: 20, G: 30, B: 90, Weight: 0.6}, {R: 230, G: 220, B: 200, Weight: 0.4}}},
	}
	for k, rq := range refs {
		ref, _, err := quality.Inspect(generate(t, p, rq).Bytes)
		require.NoError(t, err)
		side, n := 192, 60
		if k == len(refs)-1 {
			side, n = 512, 30 // a small reference, a larger generation
		}
		rng := rand.New(rand.NewPCG(1, uint64(k)))
		for i := range n {
			var combo []string
			for _, g := range learning.Catalog {
				combo = append(combo, g.Modifiers[rng.IntN(len(g.Modifiers))])
			}
			prompt := procedural.SamplePrompts[i%len(procedural.SamplePrompts)]
			img := generate(t, p, generation.ProviderRequest{Prompt: generation.ComposePrompt(prompt, combo), Modifiers: combo,
				Seed: int64(i), Width: side, Height: side, ReferencePalette: ref.Palette})
			verdict, err := v.Validate(context.Background(), img.Bytes, generation.ValidationSpec{Width: side, Height: side, Reference: ref})
			require.NoError(t, err)
			if verdict.Passed {
				continue
			}
			// Known, older than the tone checks: the palette's washed-out
			// rule (lifted blacks in a range narrower than the reference
			// palette's) fails overcast, pastel renders against a pastel
			// reference (11 of 60). Nothing else may fail.
			require.Equal(t, []string{quality.ReasonWashedOut}, verdict.Reasons,
				"reference %d, %v: score %.1f, metrics %v", k, combo, verdict.Score, verdict.Metrics)
			require.Equal(t, 3, k, "only against the pastel reference")
		}
	}
}
