package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/provider/procedural"
)

func TestValidateCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	gen := procedural.New(procedural.Options{NoDefects: true})
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, data, 0o644))
		return path
	}
	render := func(seed int64) []byte {
		img, err := gen.Generate(context.Background(), generation.ProviderRequest{Prompt: "linen shirt", Seed: seed, Width: 256, Height: 256})
		require.NoError(t, err)
		return img.Bytes
	}
	var blank bytes.Buffer
	require.NoError(t, png.Encode(&blank, image.NewGray(image.Rect(0, 0, 64, 64))))
	a := write("a.png", render(1))
	b := write("b.png", render(2))
	twin := write("twin.png", render(1))
	empty := write("blank.png", blank.Bytes())
	broken := write("broken.png", []byte("not an image"))

	var out, errOut bytes.Buffer
	require.NoError(t, validateCommand(context.Background(), []string{"--reference", a, a, b, twin, empty, broken}, &out, &errOut))
	got := map[string]validateResult{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var r validateResult
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
		require.NotEmpty(t, r.ValidatorVersion)
		got[filepath.Base(r.File)] = r
	}
	require.Len(t, got, 5, "one line per file")
	tests := []struct {
		file       string
		wantPassed bool
		wantReason string
	}{
		{file: "a.png", wantPassed: true},
		{file: "b.png", wantPassed: true},
		{file: "twin.png", wantReason: generation.ReasonDuplicate}, // same score as a.png, later in the list
		{file: "blank.png", wantReason: "blank"},
		{file: "broken.png", wantReason: "undecodable"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r := got[tt.file]
			require.Equal(t, tt.wantPassed, r.Passed, "%+v", r)
			if tt.wantReason != "" {
				require.Contains(t, r.Reasons, tt.wantReason)
			} else {
				require.Empty(t, r.Reasons)
				require.Contains(t, r.Metrics, "palette_distance", "judged against the reference")
			}
		})
	}

	require.Error(t, validateCommand(context.Background(), nil, &out, &errOut), "no files")
	require.Error(t, validateCommand(context.Background(), []string{filepath.Join(dir, "missing.png")}, &out, &errOut))
}
