package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"os"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/designerbff/pipeline/infra/internal/cli"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/provider/procedural"
)

func init() {
	commands["procedural-sheet"] = cli.Command{
		Summary: "--out FILE.png: a contact sheet of the procedural provider's clean images for the benchmark prompts",
		Run:     sheetCommand,
	}
}

// sheetRow is one row of the contact sheet: the same garment prompts under
// one palette and one set of catalog modifiers per tile.
type sheetRow struct {
	palette   []generation.Color // nil: the provider's fallback palette
	modifiers [][]string         // per column
}

var sheetRows = []sheetRow{
	{modifiers: make([][]string, len(procedural.SamplePrompts))},
	{
		// Sage, plum and mustard: a palette far from the fallback's.
		palette: []generation.Color{
			{R: 120, G: 160, B: 110, Weight: 0.5},
			{R: 110, G: 40, B: 110, Weight: 0.3},
			{R: 210, G: 170, B: 40, Weight: 0.2},
		},
		modifiers: [][]string{
			{"nature scene", "golden hour"}, {"textured wall", "high contrast"}, {"night scene", "neon glow"},
			{"flat lay", "pastel tones"}, {"gradient backdrop", "low-key lighting"}, {"motion shot", "film grain"},
		},
	},
}

// sheetCommand renders every prompt of every row with defects off and
// writes them side by side, each labelled with its prompt and modifiers.
// Tiles are rendered at twice their size and averaged down, which also
// averages the sensor grain so the sheet stays small as a PNG.
func sheetCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("procedural-sheet", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "the PNG to write (e.g. docs/procedural-garments.png)")
	tile := fs.Int("tile", 200, "tile side in pixels")
	seed := fs.Int64("seed", 11, "the request seed of every tile")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("procedural-sheet: --out is required")
	}
	if *tile < 32 || *tile > 1024 {
		return fmt.Errorf("procedural-sheet: --tile %d outside 32–1024", *tile)
	}
	const label = 71
	p := procedural.New(procedural.Options{NoDefects: true})
	sheet := image.NewRGBA(image.Rect(0, 0, len(procedural.SamplePrompts)**tile, len(sheetRows)*(*tile+label)))
	draw.Draw(sheet, sheet.Rect, image.White, image.Point{}, draw.Src)
	for r, row := range sheetRows {
		for col, prompt := range procedural.SamplePrompts {
			mods := row.modifiers[col]
			img, err := p.Generate(ctx, generation.ProviderRequest{
				Prompt:           generation.ComposePrompt(prompt, mods),
				Modifiers:        mods,
				Seed:             *seed,
				Width:            2 * *tile,
				Height:           2 * *tile,
				ReferencePalette: row.palette,
			})
			if err != nil {
				return fmt.Errorf("procedural-sheet: %q: %w", prompt, err)
			}
			m, _, err := image.Decode(strings.NewReader(string(img.Bytes)))
			if err != nil {
				return fmt.Errorf("procedural-sheet: decode %q: %w", prompt, err)
			}
			at := image.Pt(col**tile, r*(*tile+label))
			halve(sheet, at, m)
			// Short lines: the item (and what the provider read in it), the
			// prompt's setting, each modifier.
			item, setting, _ := strings.Cut(prompt, ", ")
			garment, material := procedural.SceneOf(prompt)
			caption(sheet, at.Add(image.Pt(4, *tile+12)), item)
			caption(sheet, at.Add(image.Pt(4, *tile+25)), fmt.Sprintf("= %s %s", material, garment))
			caption(sheet, at.Add(image.Pt(4, *tile+38)), setting)
			for i, m := range mods {
				caption(sheet, at.Add(image.Pt(4, *tile+51+13*i)), "+ "+m)
			}
		}
	}
	f, err := os.Create(*out)
	if err != nil {
		return fmt.Errorf("procedural-sheet: %w", err)
	}
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(f, sheet); err != nil {
		f.Close()
		return fmt.Errorf("procedural-sheet: encode: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("procedural-sheet: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s (%d×%d)\n", *out, sheet.Rect.Dx(), sheet.Rect.Dy())
	return nil
}

// halve draws src at half size into dst at at, each pixel the mean of a 2×2 block.
func halve(dst *image.RGBA, at image.Point, src image.Image) {
	b := src.Bounds()
	for y := 0; y+1 < b.Dy(); y += 2 {
		for x := 0; x+1 < b.Dx(); x += 2 {
			var s [3]uint32
			for _, d := range [4]image.Point{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
				r, g, bl, _ := src.At(b.Min.X+x+d.X, b.Min.Y+y+d.Y).RGBA()
				s[0], s[1], s[2] = s[0]+r>>8, s[1]+g>>8, s[2]+bl>>8
			}
			// Five bits a channel (the grain dithers them) are indistinguishable here and halve the file.
			dst.SetRGBA(at.X+x/2, at.Y+y/2, color.RGBA{uint8(s[0]/4) &^ 7, uint8(s[1]/4) &^ 7, uint8(s[2]/4) &^ 7, 255})
		}
	}
}

func caption(dst *image.RGBA, at image.Point, text string) {
	d := font.Drawer{Dst: dst, Src: image.NewUniform(color.Gray{60}), Face: basicfont.Face7x13, Dot: fixed.P(at.X, at.Y)}
	d.DrawString(text)
}
