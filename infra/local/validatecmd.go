package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/designerbff/pipeline/infra/internal/cli"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/quality"
	"github.com/designerbff/pipeline/shared/quality/visionjudge"
)

func init() {
	commands["validate"] = cli.Command{
		Summary: "[--reference REF] [--min-score N] FILE...: judge images as one generation, one JSON object per file (vision judge: VALIDATION_VISION_PROVIDER)",
		Run:     validateCommand,
	}
}

// validateResult is one line of `validate` output.
type validateResult struct {
	File             string             `json:"file"`
	Score            float64            `json:"score"`
	Passed           bool               `json:"passed"`
	Flagged          bool               `json:"flagged"`
	Reasons          []string           `json:"reasons"`
	Metrics          map[string]float64 `json:"metrics"`
	Fingerprint      string             `json:"fingerprint,omitempty"`
	ValidatorVersion string             `json:"validatorVersion"`
}

// validateCommand validates files the way the pipeline does: each file on
// its own, then near-duplicates among them, as if they were one generation's
// candidates (the lower-scored twin fails with "duplicate").
func validateCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	reference := fs.String("reference", "", "the user's reference image: its palette is what off_palette is judged against")
	minScore := fs.Float64("min-score", quality.DefaultMinScore, "pass threshold (VALIDATION_MIN_SCORE)")
	width := fs.Int("width", 0, "requested width (0: not checked)")
	height := fs.Int("height", 0, "requested height (0: not checked)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("validate: no files (usage: validate [--reference REF] FILE...)")
	}
	spec := generation.ValidationSpec{Width: *width, Height: *height, MinScore: *minScore}
	if *reference != "" {
		data, err := os.ReadFile(*reference)
		if err != nil {
			return fmt.Errorf("validate: read reference: %w", err)
		}
		if spec.Reference, _, err = quality.Inspect(data); err != nil {
			return fmt.Errorf("validate: reference %s: %w", *reference, err)
		}
	}
	builtin := quality.New(*minScore)
	// VALIDATION_VISION_PROVIDER (off when unset) adds the vision judge.
	v, err := visionjudge.FromEnv(builtin, os.Getenv, nil)
	if err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	cands := make([]generation.Candidate, 0, fs.NArg())
	for i, file := range fs.Args() {
		data, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("validate: %w", err)
		}
		verdict, err := v.Validate(ctx, data, spec)
		if err != nil {
			return fmt.Errorf("validate %s: %w", file, err)
		}
		cands = append(cands, generation.Candidate{ID: file, Index: i, Verdict: &verdict})
	}
	cands, _ = generation.MarkDuplicates(cands, v.SameImage)
	enc := json.NewEncoder(stdout)
	for _, c := range cands {
		vd := c.Verdict
		if err := enc.Encode(validateResult{
			File: c.ID, Score: vd.Score, Passed: vd.Passed, Flagged: vd.Flagged, Reasons: vd.Reasons,
			Metrics: vd.Metrics, Fingerprint: vd.Fingerprint, ValidatorVersion: vd.ValidatorVersion,
		}); err != nil {
			return fmt.Errorf("validate: write: %w", err)
		}
	}
	return nil
}
