package catalog

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/designerbff/pipeline/shared/generation"
)

// Option is a provider and model that "auto" may choose.
type Option struct {
	Provider string
	Model    string
	ImageUSD float64 // price per image
}

// Choice is an option with its expected cost per delivered image.
type Choice struct {
	Option
	PassRate    float64 // posterior mean of the pass rate
	ExpectedUSD float64 // ImageUSD ÷ PassRate
	Samples     int     // outcomes behind PassRate (0: the symmetric prior, PASS_RATE_PRIOR)
}

// Rank orders options by expected cost per delivered image: price divided by
// the posterior mean pass rate α/(α+β) of the (provider, model) statistics,
// the symmetric prior's mean (0.5) where there are none. Ties go to the lower
// price, then the name, so the choice is deterministic.
func Rank(options []Option, stats []generation.ProviderStats) []Choice {
	out := make([]Choice, 0, len(options))
	for _, o := range options {
		c := Choice{Option: o, PassRate: 0.5}
		for _, s := range stats {
			if s.Provider == o.Provider && s.Model == o.Model && s.Alpha > 0 && s.Beta > 0 {
				c.PassRate = s.Alpha / (s.Alpha + s.Beta)
				c.Samples = s.Passes + s.Failures
			}
		}
		c.ExpectedUSD = o.ImageUSD / c.PassRate
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(a, b Choice) int {
		return cmp.Or(cmp.Compare(a.ExpectedUSD, b.ExpectedUSD), cmp.Compare(a.ImageUSD, b.ImageUSD),
			cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Model, b.Model))
	})
	return out
}

var _ generation.ProviderChooser = Chooser{}

// Chooser resolves settings.provider "auto" from the enabled providers'
// default models and the stored statistics.
type Chooser struct {
	Options []Option
	Stats   generation.ProviderStatsReader
	// Now dates the retirement check of each choice (default time.Now): a
	// model that shuts down while the chooser lives is no longer chosen.
	Now func() time.Time
}

// OptionsFor builds the options of the enabled providers, each at its model
// (models[provider], else the catalog default), leaving out retired models.
func OptionsFor(providers []string, models map[string]string, at time.Time) []Option {
	var out []Option
	for _, p := range providers {
		m := models[p]
		if m == "" {
			m = DefaultModel(p)
		}
		if m == "" || Retired(p, m, at) {
			continue
		}
		img, _, _ := Price(p, m)
		out = append(out, Option{Provider: p, Model: m, ImageUSD: img})
	}
	return out
}

// ErrNoProvider is returned when "auto" has nothing to choose from.
var ErrNoProvider = errors.New("no enabled provider to choose from")

// Choose returns the provider and model with the lowest expected cost per
// delivered image.
func (c Chooser) Choose(ctx context.Context) (provider, model string, err error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	var options []Option
	for _, o := range c.Options {
		if !Retired(o.Provider, o.Model, now()) {
			options = append(options, o)
		}
	}
	if len(options) == 0 {
		return "", "", ErrNoProvider
	}
	var stats []generation.ProviderStats
	if c.Stats != nil {
		if stats, err = c.Stats.StoredProviderStats(ctx); err != nil {
			return "", "", fmt.Errorf("choose provider: %w", err)
		}
	}
	best := Rank(options, stats)[0]
	return best.Provider, best.Model, nil
}
