package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/designerbff/pipeline/infra/internal/cli"
	"github.com/designerbff/pipeline/shared/buffer"
	"github.com/designerbff/pipeline/shared/generation"
)

func init() {
	commands["plan"] = cli.Command{
		Summary: "--count N --passes P --failures F [--confidence C] [--prior-alpha A --prior-beta B] [--max-images M] [--min-samples S] [--buffer-percent B]: size a round, one JSON object",
		Run:     planCommand,
	}
}

// planOutput is `plan`'s one JSON object.
type planOutput struct {
	Count                int     `json:"count"`
	Planned              int     `json:"planned"`
	BufferPercent        float64 `json:"bufferPercent"`
	PredictedProbability float64 `json:"predictedProbability"`
	Confidence           float64 `json:"confidence"`
	Method               string  `json:"method"`
	IsDefault            bool    `json:"isDefault"`
	Capped               bool    `json:"capped"`
	Alpha                float64 `json:"alpha"`
	Beta                 float64 `json:"beta"`
	PassRateMean         float64 `json:"passRateMean"`
}

// planCommand runs the planner the pipeline uses on counts given as flags,
// for scripts and for checking a plan by hand.
func planCommand(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	count := fs.Int("count", 0, "images to deliver, N (1–100000)")
	passes := fs.Int("passes", 0, "candidates of history that passed")
	failures := fs.Int("failures", 0, "candidates of history that failed (filtered, errored or below threshold)")
	confidence := fs.Float64("confidence", 0.95, "target P(at least N pass), 0.5–0.999")
	priorAlpha := fs.Float64("prior-alpha", buffer.DefaultPrior.Alpha, "prior pass pseudo-counts")
	priorBeta := fs.Float64("prior-beta", buffer.DefaultPrior.Beta, "prior fail pseudo-counts")
	maxImages := fs.Int("max-images", 0, "cap on the planned count (0: none)")
	minSamples := fs.Int("min-samples", buffer.DefaultMinSamples, "history needed before it is trusted (BUFFER_MIN_SAMPLES)")
	defaultPercent := fs.Float64("default-percent", 20, "buffer below min-samples (DEFAULT_BUFFER_PERCENT)")
	coldStart := fs.Float64("cold-start-weight", buffer.DefaultColdStartWeight, "outcomes the default percent is worth below min-samples (BUFFER_COLD_START_WEIGHT; 0: plan it as it is)")
	fixed := fs.Float64("buffer-percent", -1, "a fixed buffer percent instead of the planner (-1: auto)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	prior := buffer.Prior{Alpha: *priorAlpha, Beta: *priorBeta}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("plan: unexpected arguments %q", fs.Args())
	case *count < 1 || *count > buffer.MaxCount:
		return fmt.Errorf("plan: --count must be from 1 to %d, got %d", buffer.MaxCount, *count)
	case *passes < 0 || *failures < 0:
		return fmt.Errorf("plan: --passes and --failures must not be negative")
	case *confidence < generation.MinTargetConfidence || *confidence > generation.MaxTargetConfidence:
		return fmt.Errorf("plan: --confidence must be from %v to %v, got %v", generation.MinTargetConfidence, generation.MaxTargetConfidence, *confidence)
	case *maxImages < 0 || *minSamples < 0 || *coldStart < 0:
		return fmt.Errorf("plan: --max-images, --min-samples and --cold-start-weight must not be negative")
	case *fixed != -1 && (*fixed < 0 || *fixed > generation.MaxBufferPercent):
		return fmt.Errorf("plan: --buffer-percent must be from 0 to %d (or -1 for auto), got %v", generation.MaxBufferPercent, *fixed)
	}
	if err := prior.Validate(); err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	q := generation.SizeQuery{
		Need: *count, Confidence: *confidence, DefaultPercent: *defaultPercent, Limit: *maxImages,
		History: []generation.ProviderStats{{Passes: *passes, Failures: *failures}},
	}
	if *fixed >= 0 {
		q.Percent = fixed
	}
	s := buffer.Planner{Prior: prior, MinSamples: *minSamples, ColdStartWeight: *coldStart}.Size(q)
	return json.NewEncoder(stdout).Encode(planOutput{
		Count: *count, Planned: s.Count, BufferPercent: s.BufferPercent, PredictedProbability: s.Probability,
		Confidence: *confidence, Method: s.Method, IsDefault: s.Default, Capped: s.Capped,
		Alpha: s.Alpha, Beta: s.Beta, PassRateMean: s.Alpha / (s.Alpha + s.Beta),
	})
}
