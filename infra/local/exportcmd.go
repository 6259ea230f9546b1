package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/designerbff/pipeline/infra/internal/cli"
	"github.com/designerbff/pipeline/shared/system"
)

func init() {
	commands["export-training"] = cli.Command{
		Summary: "--provider P [--since T] [--limit N] [--out FILE]: write training rows from get_rlhf_training_data as JSONL",
		Run:     exportTrainingCommand,
	}
}

// trainingRow is one JSONL line: a labelled example for training a prompt
// or ranking model outside this system.
type trainingRow struct {
	EventID      string    `json:"eventId"`
	GenerationID string    `json:"generationId"`
	CandidateID  *string   `json:"candidateId"`
	Provider     string    `json:"provider"`
	Model        string    `json:"model"`
	FeedbackType string    `json:"feedbackType"`
	Label        string    `json:"label"` // positive, negative or neutral
	Weight       float64   `json:"weight"`
	Score        *float64  `json:"score"`
	Prompt       string    `json:"prompt"`
	Modifiers    []string  `json:"modifiers"`
	Reasons      []string  `json:"reasons"`
	CreatedAt    time.Time `json:"createdAt"`
}

// maxExportRows bounds one export; get_rlhf_training_data needs a limit.
const maxExportRows = 1_000_000

func exportTrainingCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export-training", flag.ContinueOnError)
	fs.SetOutput(stderr)
	provider := fs.String("provider", "", "provider whose feedback to export (required)")
	since := fs.String("since", "", "only rows created at or after this time (RFC 3339, or a date YYYY-MM-DD)")
	limit := fs.Int("limit", 100_000, "at most this many rows, newest first")
	out := fs.String("out", "-", "file to write (- for stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *provider == "" {
		return fmt.Errorf("--provider is required")
	}
	if *limit < 1 || *limit > maxExportRows {
		return fmt.Errorf("--limit must be from 1 to %d, got %d", maxExportRows, *limit)
	}
	var sinceAt *time.Time
	if *since != "" {
		t, err := parseSince(*since)
		if err != nil {
			return err
		}
		sinceAt = &t
	}
	dbURL := os.Getenv("DATABASE_URL")
	if dbURL == "" {
		return fmt.Errorf("DATABASE_URL is not set")
	}
	pool, err := system.OpenPool(ctx, dbURL, 1) // one query at a time
	if err != nil {
		return err
	}
	defer pool.Close()

	w := stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return fmt.Errorf("create %s: %w", *out, err)
		}
		defer f.Close()
		w = f
	}
	n, err := exportTraining(ctx, pool, w, *provider, sinceAt, *limit)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "exported %d rows of %s\n", n, *provider)
	return nil
}

func parseSince(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since %q is neither RFC 3339 (2026-03-01T12:00:00Z) nor a date (2026-03-01)", s)
}

// exportTraining writes one JSON object per line, newest first, and returns
// how many it wrote.
func exportTraining(ctx context.Context, pool *pgxpool.Pool, w io.Writer, provider string, since *time.Time, limit int) (int, error) {
	rows, err := pool.Query(ctx, `
		SELECT event_id::text, generation_id::text, candidate_id::text, provider, model, feedback_type,
		       label, weight, quality_score::float8, prompt, modifiers, reasons, created_at
		FROM get_rlhf_training_data($1, $2, $3)`, provider, limit, since)
	if err != nil {
		return 0, fmt.Errorf("query training data: %w", err)
	}
	defer rows.Close()
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	n := 0
	for rows.Next() {
		var r trainingRow
		if err := rows.Scan(&r.EventID, &r.GenerationID, &r.CandidateID, &r.Provider, &r.Model, &r.FeedbackType,
			&r.Label, &r.Weight, &r.Score, &r.Prompt, &r.Modifiers, &r.Reasons, &r.CreatedAt); err != nil {
			return n, fmt.Errorf("read training row: %w", err)
		}
		if err := enc.Encode(r); err != nil {
			return n, fmt.Errorf("write training row: %w", err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("read training data: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("write training data: %w", err)
	}
	return n, nil
}
