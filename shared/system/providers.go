package system

import (
	"log/slog"
	"slices"
	"time"

	"github.com/designerbff/pipeline/shared/config"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/provider/catalog"
	"github.com/designerbff/pipeline/shared/provider/gemini"
	"github.com/designerbff/pipeline/shared/provider/openai"
	"github.com/designerbff/pipeline/shared/provider/procedural"
	"github.com/designerbff/pipeline/shared/provider/replicate"
	"github.com/designerbff/pipeline/shared/provider/stability"
)

// Providers builds the enabled providers (cfg.Providers) by name, with the
// API keys read through
// getenv (OPENAI_API_KEY, GEMINI_API_KEY, STABILITY_API_KEY,
// REPLICATE_API_TOKEN). The keys are not part of config.Config on purpose:
// in AWS only the generate function holds them (template.yaml), while every
// function builds the providers, for their names and default models. An
// adapter without its key answers every call with an auth outcome, so a
// missing key fails the candidates with a reason instead of the deploy.
// A configured model that the catalog knows to be shut down is logged.
func Providers(cfg config.Config, getenv func(string) string) map[string]generation.Provider {
	out := map[string]generation.Provider{}
	for _, name := range cfg.Providers {
		var p generation.Provider
		model := cfg.Models[name]
		switch name {
		case catalog.Procedural:
			p = procedural.New(procedural.Options{QuirkSeed: cfg.QuirkSeed})
		case catalog.OpenAI:
			p = openai.New(openai.Options{APIKey: getenv(openai.KeyEnv), Model: model})
		case catalog.Gemini:
			p = gemini.New(gemini.Options{APIKey: getenv(gemini.KeyEnv), Model: model})
		case catalog.Stability:
			p = stability.New(stability.Options{APIKey: getenv(stability.KeyEnv), Model: model})
		case catalog.Replicate:
			p = replicate.New(replicate.Options{APIToken: getenv(replicate.KeyEnv), Model: model})
		default:
			continue // config.Load accepts only known names
		}
		if r, ok := catalog.RetirementOf(name, p.DefaultModel()); ok {
			slog.Warn("configured model is retired or retiring", "provider", name, "model", r.Model,
				"shutDown", r.ShutDown.Format(time.DateOnly), "replacement", r.Replacement)
		}
		out[name] = p
	}
	return out
}

// budgetReserve is what a wait for the budget must leave of the generate
// function's deadline: the call's own timeout is the deadline less 10 s
// (providerhttp), and a call needs some of it.
const budgetReserve = 40 * time.Second

// Budgeted holds every provider that has a limit (cfg.ProviderLimits: the
// hosted ones) to its budget in budget, shared by every generation and
// every function instance. The pipeline sees the same Provider port.
func Budgeted(providers map[string]generation.Provider, cfg config.Config, budget generation.ProviderBudget) map[string]generation.Provider {
	out := make(map[string]generation.Provider, len(providers))
	for name, p := range providers {
		limit, ok := cfg.ProviderLimits[name]
		if !ok {
			out[name] = p
			continue
		}
		out[name] = generation.BudgetedProvider{Provider: p, Budget: budget, Limit: limit, MaxWait: cfg.ProviderBudgetMaxWait, Reserve: budgetReserve}
	}
	return out
}

// AutoChooser resolves settings.provider "auto" among the enabled providers
// from the provider statistics stats reads. A nil stats means no history:
// the prior for every provider, so the cheapest wins.
func AutoChooser(cfg config.Config, stats generation.ProviderStatsReader) catalog.Chooser {
	return catalog.Chooser{Options: catalog.OptionsFor(cfg.Providers, cfg.Models, time.Now()), Stats: stats}
}

// AllowedModels are the models a request may name, by enabled provider: the
// catalog's models that are not shut down at `at`, the provider's
// configured model and the operator's additions (ALLOWED_MODELS). Nothing
// else reaches a provider's URL or a stored row.
func AllowedModels(cfg config.Config, at time.Time) map[string][]string {
	out := map[string][]string{}
	for _, name := range cfg.Providers {
		models := catalog.Current(name, at)
		for _, m := range append([]string{cfg.Models[name]}, cfg.AllowedModels[name]...) {
			if m != "" && !slices.Contains(models, m) {
				models = append(models, m)
			}
		}
		out[name] = models
	}
	return out
}
