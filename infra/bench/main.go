// Command bench runs the repository's benchmarks and writes their reports
// in docs/: `buffer` (the buffer strategies simulated over a grid, and
// Recalibrate timed on a big history), `learning` (learning on vs off vs an
// oracle through the local stack) and `quality prepare|report` (the
// validator's calibration set and one-core timings). `make bench-buffer`,
// `make bench-learning` and `make bench-quality` run them; the last line each
// prints is its summary. The buffer simulation is the sub-package bufsim;
// the charts come from infra/internal/chart, which the demo's report shares.
package main

import "github.com/designerbff/pipeline/infra/internal/cli"

var commands = map[string]cli.Command{
	"buffer": {Summary: "[--requests R] [--out DIR] [--recalibrate-rows ROWS]: simulate the buffer strategies, time Recalibrate, write docs/buffer-benchmark.{md,svg}",
		Run: bufferCommand},
	"learning": {Summary: "learning on vs off vs an oracle over several quirk seeds; writes docs/learning-benchmark.md and its chart",
		Run: learningCommand},
	"quality": {Summary: "prepare|report|scenes: build the validator's labelled calibration set and write docs/quality-benchmark.md; scenes: clean renders against references of other scenes alone",
		Run: qualityCommand},
}

func main() { cli.Main("go run ./infra/bench", commands) }
