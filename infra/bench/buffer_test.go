package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/bench/bufsim"
)

// A small run writes the report and the chart and ends with the summary.
func TestBenchBufferWritesTheReport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out bytes.Buffer
	code := run(t.Context(), []string{"buffer", "--requests", "40", "--recalibrate-rows", "0", "--out", dir}, &out, io.Discard)
	require.Equal(t, 0, code, out.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	last := lines[len(lines)-1]
	for _, key := range []string{"worst_delivery_ours=", "worst_delivery_earlier=", "max_images_ratio_n200=", "topup_delivery="} {
		require.Contains(t, last, key)
	}
	md, err := os.ReadFile(filepath.Join(dir, "buffer-benchmark.md"))
	require.NoError(t, err)
	require.Equal(t, 12, strings.Count(string(md), "\n### c = "), "one table per (c, n)")
	require.Contains(t, string(md), "| 100 | 0.50 | 224 | 0.9527 |", "the oracle row for N=100, p=0.5 at c=0.95")
	svg, err := os.ReadFile(filepath.Join(dir, "buffer-benchmark.svg"))
	require.NoError(t, err)
	require.Contains(t, string(svg), "<svg ")
	for _, text := range []string{"fixed 20 %", "earlier rule", "ours", "history n = 2000", "first-round delivery rate", "first-round images / M*"} {
		require.Contains(t, string(svg), ">"+text+"<", "the legend and every panel's title")
	}
}

func TestOverSlackAllowsOneImageOrTheRatio(t *testing.T) {
	t.Parallel()
	cell := func(oracle int, mean float64) bufsim.CellResult {
		var r bufsim.CellResult
		r.Oracle, r.Ours.FirstImages = oracle, mean
		return r
	}
	require.False(t, overSlack(cell(1, 1.55), 1.03), "M* = 1: one image of slack")
	require.True(t, overSlack(cell(1, 2.05), 1.03), "more than one image over M* = 1")
	require.False(t, overSlack(cell(224, 230), 1.03), "within 3 % of a large M*")
	require.True(t, overSlack(cell(224, 231), 1.03), "over 3 % and over one image")
}
