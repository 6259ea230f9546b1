// Package visionjudge adds an optional vision-model opinion to the built-in
// validator: a multimodal model (OpenAI Chat Completions or Gemini
// generateContent, both with structured JSON output) rates each image 0–100
// against a rubric, and the rating is blended with the built-in score.
//
// It is off by default: nothing here runs unless VALIDATION_VISION_PROVIDER
// names a provider (see FromEnv). The blend is
//
//	score = (1 − Weight)·built-in + Weight·vision        (DefaultWeight 0.3)
//
// and the model can only veto, never rescue: an image passes when the
// built-in verdict passed and the blended score still reaches the threshold.
// Pixel defects (blank, blurry, clipped, duplicate) are facts the heuristics
// measure; the model ranks among images that are technically fine. Images
// the built-in validator already failed are not sent (no money spent on
// broken images). When the model refuses, times out or answers malformed
// JSON, the built-in verdict stands, flagged for review, with the failure
// recorded in the metrics (vision_error) — a judge outage must not stop
// deliveries.
package visionjudge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/provider/providerhttp"
	"github.com/designerbff/pipeline/shared/quality"
)

// DefaultWeight is the vision rating's share of the blended score.
const DefaultWeight = 0.3

// Reason and metric keys this package adds to verdicts.
const (
	ReasonVisionLowScore = "vision_low_score" // the blend fell below the threshold
	MetricVisionScore    = "vision_score"     // the model's 0–100 rating
	MetricBuiltinScore   = "builtin_score"    // the built-in validator's score before blending
	MetricVisionWeight   = "vision_weight"
	MetricVisionError    = "vision_error" // 1: refused, 2: malformed or truncated, 3: transport or HTTP error
)

// Rating is a model's structured answer.
type Rating struct {
	Score   float64  `json:"score"`   // 0–100
	Defects []string `json:"defects"` // from Defects, possibly empty
	Summary string   `json:"summary"` // one sentence for a designer
}

// Defects the rubric lets the model name; they are kept as metrics-free
// notes (vision_defect_*), not as reason codes, because reasons must come
// from a measurement the validator can reproduce.
var Defects = []string{"blurry", "noisy", "bad_exposure", "artifacts", "distorted_anatomy", "text_garbled", "off_brief", "off_palette", "unsafe"}

// Rubric is the instruction sent with every image.
const Rubric = `You are the quality judge for product and fashion images generated for a designer.
Rate the attached image from 0 (unusable) to 100 (ready to publish) for technical and aesthetic quality:
sharpness, exposure, artefacts, anatomy and garment construction, composition.
List the defects you see (an empty list when there are none) and summarise your judgement in one sentence.`

// schema is the JSON Schema of Rating, in the strict-mode subset (every
// property required, no additional properties).
func schema() map[string]any {
	return map[string]any{
		"type": "object",
		"properties": map[string]any{
			"score":   map[string]any{"type": "integer", "minimum": 0, "maximum": 100},
			"defects": map[string]any{"type": "array", "items": map[string]any{"type": "string", "enum": Defects}},
			"summary": map[string]any{"type": "string"},
		},
		"required":             []string{"score", "defects", "summary"},
		"additionalProperties": false,
	}
}

// Error kinds a Judge returns, for errors.Is.
var (
	ErrRefused   = errors.New("vision judge refused")
	ErrMalformed = errors.New("vision judge answered malformed JSON")
	ErrTruncated = errors.New("vision judge answer was truncated")
	ErrHTTP      = errors.New("vision judge request failed")
)

// Judge rates one image.
type Judge interface {
	// Name identifies provider and model; it is part of the validator version.
	Name() string
	Rate(ctx context.Context, image []byte, contentType string) (Rating, error)
}

// parseRating decodes and checks a model's JSON answer.
func parseRating(text string) (Rating, error) {
	var r Rating
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Rating{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if math.IsNaN(r.Score) || r.Score < 0 || r.Score > 100 {
		return Rating{}, fmt.Errorf("%w: score %v outside 0–100", ErrMalformed, r.Score)
	}
	for _, d := range r.Defects {
		if !slices.Contains(Defects, d) {
			return Rating{}, fmt.Errorf("%w: unknown defect %q", ErrMalformed, d)
		}
	}
	return r, nil
}

// Validator blends a Judge's rating into the built-in verdict. It
// implements generation.Validator.
type Validator struct {
	Base   *quality.Validator
	Judge  Judge
	Weight float64 // share of the vision rating, 0–1; ≤ 0 means DefaultWeight
}

var _ generation.Validator = (*Validator)(nil)

// Version is the built-in version plus the judge, so verdicts made with
// and without a judge (or with another model) are stored apart.
func (v *Validator) Version() string {
	return v.Base.Version() + "+vision:" + v.Judge.Name() + ":w" + strconv.FormatFloat(v.weight(), 'f', -1, 64)
}

func (v *Validator) weight() float64 {
	if v.Weight <= 0 || v.Weight > 1 {
		return DefaultWeight
	}
	return v.Weight
}

// SameImage is the built-in validator's.
func (v *Validator) SameImage(a, b generation.Verdict) bool { return v.Base.SameImage(a, b) }

// Validate runs the built-in validator and, for images it passed, the judge.
func (v *Validator) Validate(ctx context.Context, img []byte, spec generation.ValidationSpec) (generation.Verdict, error) {
	base, err := v.Base.Validate(ctx, img, spec)
	if err != nil {
		return generation.Verdict{}, err
	}
	out := base
	out.ValidatorVersion = v.Version()
	out.Metrics = make(map[string]float64, len(base.Metrics)+4)
	for k, x := range base.Metrics {
		out.Metrics[k] = x
	}
	if !base.Passed {
		return out, nil
	}
	rating, err := v.Judge.Rate(ctx, img, contentType(img))
	if err != nil {
		if ctx.Err() != nil {
			return generation.Verdict{}, fmt.Errorf("vision judge: %w", ctx.Err())
		}
		out.Flagged = true
		out.Metrics[MetricVisionError] = errorCode(err)
		return out, nil
	}
	minScore := spec.MinScore
	if minScore <= 0 {
		minScore = v.Base.MinScore
	}
	if minScore <= 0 {
		minScore = quality.DefaultMinScore
	}
	w := v.weight()
	blended := math.Round(((1-w)*base.Score+w*rating.Score)*100) / 100
	out.Score = blended
	out.Metrics[MetricVisionScore] = rating.Score
	out.Metrics[MetricBuiltinScore] = base.Score
	out.Metrics[MetricVisionWeight] = w
	for _, d := range rating.Defects {
		out.Metrics["vision_defect_"+d] = 1
	}
	out.Passed = blended >= minScore
	out.Flagged = out.Passed && blended < minScore+v.Base.FlagMargin
	if !out.Passed {
		out.Reasons = append(slices.Clone(base.Reasons), ReasonVisionLowScore)
	}
	return out, nil
}

func errorCode(err error) float64 {
	switch {
	case errors.Is(err, ErrRefused):
		return 1
	case errors.Is(err, ErrMalformed), errors.Is(err, ErrTruncated):
		return 2
	default:
		return 3
	}
}

// contentType sniffs the three formats the validator accepts.
func contentType(img []byte) string {
	switch ct := http.DetectContentType(img); ct {
	case "image/png", "image/jpeg", "image/webp":
		return ct
	}
	return "application/octet-stream"
}

// FromEnv wraps base with the judge VALIDATION_VISION_PROVIDER names
// ("openai" or "gemini"; empty: none, base is returned as it is).
// VALIDATION_VISION_MODEL names the model, VALIDATION_VISION_WEIGHT the
// blend weight; the key comes from OPENAI_API_KEY or GEMINI_API_KEY.
// OPENAI_BASE_URL / GEMINI_BASE_URL override the endpoints (tests, proxies).
//
// A missing key is not an error here: every function computes the
// validator version from this configuration (verdicts are read by version),
// but only the validate function holds the key. A judge without a key fails
// each Rate, which keeps the built-in verdict, flagged.
func FromEnv(base *quality.Validator, getenv func(string) string, client *http.Client) (generation.Validator, error) {
	provider := strings.ToLower(strings.TrimSpace(getenv("VALIDATION_VISION_PROVIDER")))
	if provider == "" {
		return base, nil
	}
	if client == nil {
		// The providers' guarded client: public addresses only, no redirect
		// to another host, so a configured base URL cannot steer the key inwards.
		client = providerhttp.NewClient(false)
		client.Timeout = 60 * time.Second
	}
	weight := DefaultWeight
	if s := getenv("VALIDATION_VISION_WEIGHT"); s != "" {
		w, err := strconv.ParseFloat(s, 64)
		if err != nil || w <= 0 || w > 1 {
			return nil, fmt.Errorf("VALIDATION_VISION_WEIGHT: want a number in (0, 1], got %q", s)
		}
		weight = w
	}
	model := getenv("VALIDATION_VISION_MODEL")
	var judge Judge
	switch provider {
	case "openai":
		judge = &OpenAI{BaseURL: getenv("OPENAI_BASE_URL"), APIKey: getenv("OPENAI_API_KEY"), Model: model, Client: client}
	case "gemini":
		judge = &Gemini{BaseURL: getenv("GEMINI_BASE_URL"), APIKey: getenv("GEMINI_API_KEY"), Model: model, Client: client}
	default:
		return nil, fmt.Errorf("VALIDATION_VISION_PROVIDER: want openai or gemini, got %q", provider)
	}
	return &Validator{Base: base, Judge: judge, Weight: weight}, nil
}

// postJSON sends payload as JSON to url with one authentication header and
// returns the answer's body (read up to 1 MiB). A transport failure or a
// status other than 200 is ErrHTTP, with the provider's own error detail as
// describe reads it from the body.
func postJSON(ctx context.Context, client *http.Client, url, authHeader, authValue string, payload any, describe func(body []byte) string) ([]byte, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set(authHeader, authValue)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHTTP, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: read body: %v", ErrHTTP, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: HTTP %d %s", ErrHTTP, resp.StatusCode, describe(data))
	}
	return data, nil
}

// baseURL is the configured API base, or the provider's default.
func baseURL(configured, def string) string {
	if b := strings.TrimRight(configured, "/"); b != "" {
		return b
	}
	return def
}
