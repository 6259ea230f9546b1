package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/learning"
	"github.com/designerbff/pipeline/shared/provider/procedural"
	"github.com/designerbff/pipeline/shared/quality"
)

// The quality set judges a picture against itself (or a procedural image
// against another rendering of its request): an easier test than the
// pipeline's, where every generation is a new scene — another backdrop,
// light and framing, asked for by the catalog's modifiers — judged against
// the user's reference. sceneFalseRejects measures that setting: clean
// renders with random modifier sets, each judged against a reference of
// another scene, as the pipeline judges them. Every rejection is a false
// one: the renders have no defect.

// sceneRenders is how many clean renders are judged against each reference.
const sceneRenders = 40

// sceneReference is one reference a user might upload: a procedural
// render, alone or pasted on white as a product shot.
type sceneReference struct {
	label   string
	request generation.ProviderRequest
	product bool // the render centred on a white frame twice its size
}

// sceneReferences: the six garments, in turn, in nine palettes (the
// provider's fallback, two-colour and three-colour schemes, dark, black
// and white, muted pastels) under six lights and backdrops, and four
// product shots on white.
func sceneReferences() []sceneReference {
	palettes := [][]generation.Color{
		nil, // the provider's fallback: cream with a dark accent
		{{R: 236, G: 228, B: 212, Weight: 0.6}, {R: 34, G: 48, B: 96, Weight: 0.25}, {R: 200, G: 96, B: 60, Weight: 0.15}},
		{{R: 120, G: 160, B: 110, Weight: 0.6}, {R: 110, G: 40, B: 110, Weight: 0.25}, {R: 210, G: 170, B: 40, Weight: 0.15}},
		{{R: 30, G: 30, B: 34, Weight: 0.7}, {R: 10, G: 10, B: 12, Weight: 0.3}},
		{{R: 20, G: 30, B: 90, Weight: 0.6}, {R: 230, G: 220, B: 200, Weight: 0.4}},
		{{R: 200, G: 60, B: 50, Weight: 0.5}, {R: 240, G: 240, B: 235, Weight: 0.3}, {R: 30, G: 30, B: 30, Weight: 0.2}},
		{{R: 90, G: 140, B: 80, Weight: 0.5}, {R: 220, G: 200, B: 150, Weight: 0.5}},
		{{R: 245, G: 245, B: 245, Weight: 0.7}, {R: 20, G: 20, B: 20, Weight: 0.3}},
		{{R: 230, G: 190, B: 200, Weight: 0.6}, {R: 190, G: 220, B: 230, Weight: 0.4}},
	}
	lights := [][]string{nil, {"plain white background"}, {"low-key lighting"}, {"night scene"}, {"pastel tones", "airy"}, {"neon glow"}}
	var refs []sceneReference
	for k := range 24 {
		mods := lights[k%len(lights)]
		light := "no modifier"
		if len(mods) > 0 {
			light = strings.Join(mods, ", ")
		}
		prompt := procedural.SamplePrompts[k%len(procedural.SamplePrompts)]
		refs = append(refs, sceneReference{
			label: fmt.Sprintf("%s, palette %d, %s, seed %d", prompt, k%len(palettes), light, 500+k),
			request: generation.ProviderRequest{Prompt: generation.ComposePrompt(prompt, mods), Modifiers: mods,
				Seed: int64(500 + k), Width: 512, Height: 512, ReferencePalette: palettes[k%len(palettes)]},
		})
	}
	for k := range 4 {
		prompt := procedural.SamplePrompts[k]
		refs = append(refs, sceneReference{
			label:   fmt.Sprintf("%s on white, palette %d", prompt, k),
			request: generation.ProviderRequest{Prompt: prompt, Seed: int64(300 + k), Width: 256, Height: 256, ReferencePalette: palettes[k]},
			product: true,
		})
	}
	return refs
}

// sceneResult is what sceneFalseRejects found.
type sceneResult struct {
	renders, rejected int
	byReason          map[string]int
	worst             []string // references rejecting a tenth of their renders or more
}

func sceneFalseRejects(ctx context.Context, v *quality.Validator) (sceneResult, error) {
	p := procedural.New(procedural.Options{NoDefects: true})
	res := sceneResult{byReason: map[string]int{}}
	rng := rand.New(rand.NewPCG(7, 7))
	for _, sr := range sceneReferences() {
		img, err := p.Generate(ctx, sr.request)
		if err != nil {
			return res, fmt.Errorf("bench-quality: scene reference: %w", err)
		}
		data := img.Bytes
		if sr.product {
			if data, err = onWhite(data); err != nil {
				return res, err
			}
		}
		ref, _, err := quality.Inspect(data)
		if err != nil {
			return res, fmt.Errorf("bench-quality: scene reference: %w", err)
		}
		rejected, reasons := 0, map[string]int{}
		for i := range sceneRenders {
			var mods []string
			for _, g := range learning.Catalog {
				mods = append(mods, g.Modifiers[rng.IntN(len(g.Modifiers))])
			}
			side := 192
			if i%4 == 3 {
				side = 512
			}
			prompt := procedural.SamplePrompts[i%len(procedural.SamplePrompts)]
			got, err := p.Generate(ctx, generation.ProviderRequest{Prompt: generation.ComposePrompt(prompt, mods), Modifiers: mods,
				Seed: int64(i), Width: side, Height: side, ReferencePalette: ref.Palette})
			if err != nil {
				return res, fmt.Errorf("bench-quality: scene render: %w", err)
			}
			vd, err := v.Validate(ctx, got.Bytes, generation.ValidationSpec{Width: side, Height: side, Reference: ref})
			if err != nil {
				return res, fmt.Errorf("bench-quality: scene render: %w", err)
			}
			res.renders++
			if vd.Passed {
				continue
			}
			rejected++
			res.byReason[strings.Join(vd.Reasons, "+")]++
			for _, reason := range vd.Reasons {
				reasons[reason]++
			}
		}
		res.rejected += rejected
		if 10*rejected >= sceneRenders {
			res.worst = append(res.worst, fmt.Sprintf("%s: %d of %d (%s)", sr.label, rejected, sceneRenders, countsOf(reasons)))
		}
	}
	return res, nil
}

// onWhite centres a PNG on a white frame twice its size: a product shot.
func onWhite(data []byte) ([]byte, error) {
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("bench-quality: product reference: %w", err)
	}
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	frame := image.NewNRGBA(image.Rect(0, 0, 2*w, 2*h))
	draw.Draw(frame, frame.Rect, image.White, image.Point{}, draw.Src)
	draw.Draw(frame, image.Rect(w/2, h/2, w/2+w, h/2+h), img, img.Bounds().Min, draw.Src)
	var buf bytes.Buffer
	if err := png.Encode(&buf, frame); err != nil {
		return nil, fmt.Errorf("bench-quality: product reference: %w", err)
	}
	return buf.Bytes(), nil
}

// markdown is the report's section on it.
func (r sceneResult) markdown() string {
	var md strings.Builder
	md.WriteString("\n## Clean renders against references of other scenes\n\n")
	fmt.Fprintf(&md, "What the pipeline does: %d clean procedural renders (192 px, every fourth 512 px), each with one random modifier of every catalog group, judged against a reference of another scene (%d references: the six garments in nine palettes under six lights and backdrops, and four product shots on white; `infra/bench/quality_scenes.go`). Every rejection is a false one.\n\n", r.renders, r.renders/sceneRenders)
	fmt.Fprintf(&md, "**Rejected: %d of %d (%.3f).**\n\n", r.rejected, r.renders, frac(r.rejected, r.renders))
	if len(r.byReason) > 0 {
		md.WriteString("| reasons | renders |\n|---|---|\n")
		for _, k := range mostFirst(r.byReason) {
			fmt.Fprintf(&md, "| `%s` | %d |\n", k, r.byReason[k])
		}
	}
	if len(r.worst) > 0 {
		md.WriteString("\nReferences rejecting a tenth of their renders or more:\n\n" + bullet(r.worst))
	}
	return md.String()
}

// countsOf lists reason counts, most frequent first.
func countsOf(m map[string]int) string {
	keys := mostFirst(m)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// mostFirst is m's keys by count, largest first, ties in name order.
func mostFirst(m map[string]int) []string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	return keys
}
