package main

import (
	"os"
	"path/filepath"
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
