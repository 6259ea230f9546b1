package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReadBenchTakesTheMedianOfRepeatedRuns(t *testing.T) {
	t.Parallel()
	out := `goos: linux
BenchmarkValidate1024/jpeg         	      57	  19000000 ns/op	  10.16 MB/s	        19.50 cpu-ms/op
BenchmarkMetrics1024               	     184	   6000000 ns/op	         6.00 cpu-ms/op
BenchmarkValidate1024/jpeg         	      51	  22000000 ns/op	   8.90 MB/s	        22.30 cpu-ms/op
BenchmarkMetrics1024               	     189	   4000000 ns/op	         4.00 cpu-ms/op
BenchmarkValidate1024/jpeg         	      97	  12000000 ns/op	  16.18 MB/s	        12.30 cpu-ms/op
BenchmarkDecode1024/png-2          	      40	  27000000 ns/op
PASS
`
	path := filepath.Join(t.TempDir(), "bench.txt")
	require.NoError(t, os.WriteFile(path, []byte(out), 0o644))
	got, err := readBench(path)
	require.NoError(t, err)
	require.Equal(t, []benchTiming{
		{name: "BenchmarkValidate1024/jpeg", runs: 3, wallMS: 19, ms: 19.5, cpuSeen: true},
		{name: "BenchmarkMetrics1024", runs: 2, wallMS: 5, ms: 5, cpuSeen: true},
		{name: "BenchmarkDecode1024/png", runs: 1, wallMS: 27, ms: 27},
	}, got)
	require.Equal(t, 19.5, benchMS(got, "BenchmarkValidate1024/jpeg"))
	require.True(t, benchMS(got, "BenchmarkMissing") != benchMS(got, "BenchmarkMissing"), "NaN for a missing benchmark")
}

func TestAUCCountsTiesAsHalf(t *testing.T) {
	t.Parallel()
	require.Equal(t, 1.0, auc([]float64{90, 80}, []float64{10, 20}))
	require.Equal(t, 0.0, auc([]float64{10}, []float64{90}))
	require.Equal(t, 0.875, auc([]float64{50, 90}, []float64{50, 40}))
}

func TestSceneSectionListsReasonsMostFrequentFirst(t *testing.T) {
	t.Parallel()
	r := sceneResult{renders: 80, rejected: 5, byReason: map[string]int{"noisy": 1, "washed_out": 3, "colour_cast+off_palette": 1},
		worst: []string{"a reference: 4 of 40 (washed_out 3, noisy 1)"}}
	md := r.markdown()
	require.Contains(t, md, "**Rejected: 5 of 80 (0.062).**")
	require.Less(t, strings.Index(md, "`washed_out` | 3"), strings.Index(md, "`colour_cast+off_palette` | 1"))
	require.Less(t, strings.Index(md, "`colour_cast+off_palette` | 1"), strings.Index(md, "`noisy` | 1"), "ties in name order")
	require.Contains(t, md, "- a reference: 4 of 40")
	require.Equal(t, "washed_out 3, noisy 1, off_palette 1", countsOf(map[string]int{"noisy": 1, "off_palette": 1, "washed_out": 3}))
}

func TestSceneReferencesCoverPalettesLightsAndProductShots(t *testing.T) {
	t.Parallel()
	refs := sceneReferences()
	require.Len(t, refs, 28)
	products, labels := 0, map[string]bool{}
	for _, r := range refs {
		if r.product {
			products++
		}
		require.False(t, labels[r.label], "labels name one reference each: %s", r.label)
		labels[r.label] = true
	}
	require.Equal(t, 4, products)
}
