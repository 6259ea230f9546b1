package stack

import (
	"context"
	"fmt"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/provider/procedural"
)

// DemoReference is the designer's reference image that the demo and the
// learning benchmark send with every request: a navy-and-cream garment shot,
// made by the procedural renderer so that nothing is downloaded.
func DemoReference(ctx context.Context) ([]byte, error) {
	img, err := procedural.New(procedural.Options{NoDefects: true}).Generate(ctx, generation.ProviderRequest{
		Prompt: "reference: navy and cream knitwear", Seed: 2026, Width: 320, Height: 400,
		ReferencePalette: []generation.Color{
			{R: 28, G: 40, B: 84, Weight: 0.45}, {R: 232, G: 222, B: 200, Weight: 0.35}, {R: 176, G: 60, B: 48, Weight: 0.2},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("make reference image: %w", err)
	}
	return img.Bytes, nil
}
