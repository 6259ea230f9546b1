package main

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/provider/procedural"
)

func TestSheetCommand(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "sheet.png")
	var stdout, stderr bytes.Buffer
	require.NoError(t, sheetCommand(context.Background(), []string{"--out", out, "--tile", "64"}, &stdout, &stderr))
	require.Contains(t, stdout.String(), "wrote "+out)
	f, err := os.Open(out)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	require.Equal(t, image.Rect(0, 0, len(procedural.SamplePrompts)*64, len(sheetRows)*(64+71)), img.Bounds())
	// Every tile is a different picture: no two prompts drew the same thing.
	tile := func(col, row int) []uint32 {
		var px []uint32
		for y := range 64 {
			for x := range 64 {
				r, g, b, _ := img.At(col*64+x, row*(64+71)+y).RGBA()
				px = append(px, r<<16|g<<8|b)
			}
		}
		return px
	}
	for row := range sheetRows {
		for i := range procedural.SamplePrompts {
			for j := range i {
				require.NotEqual(t, tile(i, row), tile(j, row), "row %d: tiles %d and %d", row, i, j)
			}
		}
	}
}

func TestSheetCommandRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no output", nil, "--out is required"},
		{"tiny tile", []string{"--out", "x.png", "--tile", "8"}, "outside 32–1024"},
		{"unwritable", []string{"--out", filepath.Join(t.TempDir(), "missing", "x.png"), "--tile", "32"}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			err := sheetCommand(context.Background(), tt.args, &stdout, &stderr)
			require.ErrorContains(t, err, tt.want)
		})
	}
}
