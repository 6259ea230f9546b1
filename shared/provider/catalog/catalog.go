// Package catalog is what the pipeline knows about hosted image models: the
// default (current) model of each provider, a per-model price recorded as
// cost_usd per candidate, and the model ids that are retired or retiring.
//
// Prices are per image at the adapters' default size and quality (1 MP,
// 1024×1024). Most are not from the provider's own price page; Source says
// where each one comes from and Confirmed says whether it is official.
// They are estimates for budgets and for choosing a provider, not invoices.
package catalog

import (
	"slices"
	"strings"
	"time"
)

// Provider names, as stored on generations and statistics.
const (
	OpenAI     = "openai"
	Gemini     = "gemini"
	Stability  = "stability"
	Replicate  = "replicate"
	Procedural = "procedural"
)

// Model is one model's price.
type Model struct {
	Provider string
	Model    string
	// ImageUSD is charged per image returned.
	ImageUSD float64
	// ReferenceUSD is charged per reference image sent, where the provider
	// bills input images separately (FLUX.2 on Replicate bills input megapixels).
	ReferenceUSD float64
	Source       string
	Confirmed    bool // from the provider's own pricing text
}

// models is the price table; README's table is this one.
var models = []Model{
	{Provider: OpenAI, Model: "gpt-image-2", ImageUSD: 0.07, Source: "fal.ai/models/openai/gpt-image-2 estimate for medium quality 1024² (third-party; OpenAI bills tokens)"},
	{Provider: OpenAI, Model: "gpt-image-1.5", ImageUSD: 0.034, Source: "docs.apiyi.com medium 1024² (third-party); shuts down 2026-12-01"},
	{Provider: Gemini, Model: "gemini-3.1-flash-image", ImageUSD: 0.067, Source: "1120 output tokens at $60/1M for 1K (xairouter.com, third-party)"},
	{Provider: Gemini, Model: "gemini-3-pro-image", ImageUSD: 0.134, Source: "not established; 2× flash image assumed"},
	{Provider: Stability, Model: "sd3.5-large", ImageUSD: 0.065, Source: "6.5 credits at $0.01 (Stability OpenAPI text; developer.puter.com)", Confirmed: true},
	{Provider: Stability, Model: "sd3.5-large-turbo", ImageUSD: 0.04, Source: "4 credits (Stability OpenAPI text)", Confirmed: true},
	{Provider: Stability, Model: "sd3.5-medium", ImageUSD: 0.035, Source: "3.5 credits (Stability OpenAPI text)", Confirmed: true},
	{Provider: Replicate, Model: "black-forest-labs/flux-2-pro", ImageUSD: 0.02, ReferenceUSD: 0.02, Source: "$0.02/MP output and input at 1 MP (skytells.ai, third-party)"},
	{Provider: Replicate, Model: "black-forest-labs/flux-1.1-pro", ImageUSD: 0.04, Source: "workflowlab.dev (third-party)"},
	{Provider: Replicate, Model: "black-forest-labs/flux-schnell", ImageUSD: 0.003, Source: "workflowlab.dev (third-party)"},
	{Provider: Procedural, Model: "procedural-v1", ImageUSD: 0.002, Source: "notional: the embedded provider is free", Confirmed: true},
	{Provider: Procedural, Model: "procedural-jpeg", ImageUSD: 0.002, Source: "notional: the embedded provider is free (its JPEG output)", Confirmed: true},
}

// defaults are the current models each provider uses when none is configured.
var defaults = map[string]string{
	OpenAI:     "gpt-image-2",
	Gemini:     "gemini-3.1-flash-image",
	Stability:  "sd3.5-large",
	Replicate:  "black-forest-labs/flux-2-pro",
	Procedural: "procedural-v1",
}

// Retirement is a model id's shutdown.
type Retirement struct {
	Provider    string
	Model       string
	ShutDown    time.Time
	Replacement string
	Source      string
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// retirements are the shutdowns known on 2026-11-26 (docs: provider-wire-formats §0).
var retirements = []Retirement{
	{Gemini, "imagen-4.0-generate-001", day(2026, 8, 17), "gemini-3.1-flash-image", "firebase.google.com imagen-models-migration"},
	{Gemini, "imagen-4.0-ultra-generate-001", day(2026, 8, 17), "gemini-3-pro-image", "firebase.google.com imagen-models-migration"},
	{Gemini, "imagen-4.0-fast-generate-001", day(2026, 8, 17), "gemini-3.1-flash-image", "firebase.google.com imagen-models-migration"},
	{Gemini, "imagen-3.0-generate-002", day(2026, 8, 17), "gemini-3.1-flash-image", "firebase.google.com imagen-models-migration"},
	{Gemini, "imagen-3.0-generate-001", day(2026, 8, 17), "gemini-3.1-flash-image", "firebase.google.com imagen-models-migration"},
	{Gemini, "gemini-2.5-flash-image", day(2026, 10, 2), "gemini-3.1-flash-image", "ai.google.dev/gemini-api/docs/deprecations"},
	{Gemini, "gemini-3.1-flash-image-preview", day(2026, 6, 25), "gemini-3.1-flash-image", "ai.google.dev/gemini-api/docs/deprecations"},
	{Gemini, "gemini-3-pro-image-preview", day(2026, 6, 25), "gemini-3-pro-image", "ai.google.dev/gemini-api/docs/deprecations"},
	{OpenAI, "dall-e-2", day(2026, 5, 12), "gpt-image-2", "developers.openai.com/api/docs/models/dall-e-2"},
	{OpenAI, "dall-e-3", day(2026, 5, 12), "gpt-image-2", "developers.openai.com/api/docs/models/dall-e-3"},
	{OpenAI, "gpt-image-1", day(2026, 10, 23), "gpt-image-2", "third-party trackers (no OpenAI page row found)"},
	{OpenAI, "gpt-image-1-mini", day(2026, 12, 1), "gpt-image-2", "developers.openai.com/api/docs/deprecations"},
	{OpenAI, "gpt-image-1.5", day(2026, 12, 1), "gpt-image-2", "developers.openai.com/api/docs/deprecations"},
	{OpenAI, "gpt-image-1.5-2025-12-16", day(2026, 12, 1), "gpt-image-2", "developers.openai.com/api/docs/deprecations"},
	{OpenAI, "chatgpt-image-latest", day(2026, 12, 1), "gpt-image-2", "developers.openai.com/api/docs/deprecations"},
}

// DefaultModel is the provider's current default model ("" for an unknown provider).
func DefaultModel(provider string) string { return defaults[provider] }

// Lookup returns the model's catalog entry.
func Lookup(provider, model string) (Model, bool) {
	i := slices.IndexFunc(models, func(m Model) bool { return m.Provider == provider && m.Model == model })
	if i < 0 {
		return Model{}, false
	}
	return models[i], true
}

// Price is the per-image and per-reference price of the model. A model the
// catalog does not know is charged as the provider's dearest known model, so
// that budgets are never underestimated; known reports which case it was.
func Price(provider, model string) (image, reference float64, known bool) {
	if m, ok := Lookup(provider, model); ok {
		return m.ImageUSD, m.ReferenceUSD, true
	}
	for _, m := range models {
		if m.Provider == provider {
			image = max(image, m.ImageUSD)
			reference = max(reference, m.ReferenceUSD)
		}
	}
	return image, reference, false
}

// Cost is what images returned for `references` reference images sent cost.
func Cost(provider, model string, images, references int) float64 {
	if images <= 0 {
		return 0
	}
	img, ref, _ := Price(provider, model)
	return float64(images)*img + float64(references)*ref
}

// RetirementOf returns the model's known shutdown, past or announced.
func RetirementOf(provider, model string) (Retirement, bool) {
	i := slices.IndexFunc(retirements, func(r Retirement) bool {
		return r.Provider == provider && strings.EqualFold(r.Model, model)
	})
	if i < 0 {
		return Retirement{}, false
	}
	return retirements[i], true
}

// Retired reports whether the model is shut down at `at`.
func Retired(provider, model string, at time.Time) bool {
	r, ok := RetirementOf(provider, model)
	return ok && !at.Before(r.ShutDown)
}

// Current is the provider's known models that are not shut down at `at`,
// its default first: the models a request may name unless the operator
// allows more (ALLOWED_MODELS).
func Current(provider string, at time.Time) []string {
	var out []string
	if d := defaults[provider]; d != "" && !Retired(provider, d, at) {
		out = append(out, d)
	}
	for _, m := range models {
		if m.Provider == provider && !slices.Contains(out, m.Model) && !Retired(provider, m.Model, at) {
			out = append(out, m.Model)
		}
	}
	return out
}
