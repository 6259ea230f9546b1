package generation

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// RoundPlan is how many candidates a round makes and why.
type RoundPlan struct {
	Round         int
	Needed        int     // images still to deliver when the round was planned
	Count         int     // candidates to generate this round (M, or the top-up size)
	BufferPercent float64 // the buffer the count was sized with
	BufferMethod  string  // BufferFixed or BufferAuto
	// PredictedDeliveryProbability is P(at least Needed pass) under the
	// pass-rate posterior, for auto and fixed plans alike, when a Planner is
	// configured; nil without one.
	PredictedDeliveryProbability *float64
	// PosteriorAlpha and PosteriorBeta are the Beta posterior of the pass
	// rate the plan was computed with (0 without a Planner).
	PosteriorAlpha, PosteriorBeta float64
	// Capped says maxImages, maxCostUsd or the bounds bound the count, so
	// the predicted probability may be below the target confidence.
	Capped bool
	// Max is the most candidates the round may have (maxImages, maxCostUsd,
	// RoundBound and what GenerationBound leaves).
	Max int
	// Predicted says the count (or, for a fixed buffer, its probability)
	// came from per-candidate pass predictions (SizeQuery.Predicted).
	Predicted bool
	// Bounded, when the round or generation bound (RoundBound,
	// GenerationBound) cut the count, says so in words for the user.
	Bounded string
}

// PlanPolicy carries the environment's planning defaults.
type PlanPolicy struct {
	DefaultBufferPercent float64 // DEFAULT_BUFFER_PERCENT: "auto" without a Planner; with one, the centre of its cold start
	// Planner sizes "auto" rounds from pass-rate history (shared/buffer);
	// nil plans DefaultBufferPercent.
	Planner Planner
	// UnitCost is a model's list price per image in USD (the catalog's;
	// 0: unknown). With maxCostUsd it prices a round before anything is
	// spent, so round 1 of a priced provider without history cannot
	// overspend (nil: unknown for every model).
	UnitCost func(provider, model string) float64
}

// Tally is what earlier rounds of a generation produced.
type Tally struct {
	Generated int     // candidates planned in earlier rounds
	Passed    int     // candidates that passed validation
	Errored   int     // candidates lost to infrastructure: neither a pass nor evidence of failure
	CostUSD   float64 // spent so far
}

// TallyOf counts candidates' outcomes.
func TallyOf(cands []Candidate) Tally {
	var t Tally
	for _, c := range cands {
		t.Generated++
		t.CostUSD += c.CostUSD
		switch {
		case c.Status == CandidateErrored:
			t.Errored++
		case c.Verdict != nil && c.Verdict.Passed:
			t.Passed++
		}
	}
	return t
}

// PlanRound sizes round `round` of g given what earlier rounds produced and
// the provider's stored statistics (history, one per model). Round 1 plans
// for the whole count; a later round plans only the shortfall by the same
// rule, with this generation's earlier outcomes as extra evidence. With a
// Planner, "auto" is the smallest count that reaches the target confidence
// and every plan reports its predicted probability. The count is capped by
// settings.maxImages, settings.maxCostUsd, RoundBound and what
// GenerationBound leaves (a plan cut by a bound says so in Bounded); a plan
// of zero means the budget is spent.
func PlanRound(g Generation, round int, t Tally, p PlanPolicy, history []ProviderStats) (RoundPlan, error) {
	return planRound(g, round, t, p, history, nil)
}

// PlanRoundPredicted is PlanRound when the chooser has already planned the
// round's candidates (at most plan.Max of them) and predicted each one's
// pass probability: an "auto" round is the smallest prefix of them that
// keeps the promise (Planner, SizeQuery.Predicted), a fixed one keeps its
// count and reports the predicted probability. Without a Planner, or while
// the history is too short to trust, it plans as PlanRound.
func PlanRoundPredicted(g Generation, round int, t Tally, p PlanPolicy, history []ProviderStats, pred PassPredictions) (RoundPlan, error) {
	return planRound(g, round, t, p, history, pred.Draws)
}

// PassPredictions are the predicted pass probabilities of a round's planned
// candidates as K joint posterior draws: Draws[k][i] is candidate i's pass
// probability under draw k of everything the candidates share (the
// provider's rate, each modifier's effect), so two candidates with the same
// modifier are correlated as the posterior says. Mean is the prediction.
type PassPredictions struct {
	Draws [][]float64
}

// Mean is candidate i's predicted pass probability, the mean over the draws
// (false when there is none).
func (p PassPredictions) Mean(i int) (float64, bool) {
	if len(p.Draws) == 0 || i >= len(p.Draws[0]) {
		return 0, false
	}
	sum := 0.0
	for _, d := range p.Draws {
		sum += d[i]
	}
	return sum / float64(len(p.Draws)), true
}

// Truncate keeps the first n candidates' draws.
func (p PassPredictions) Truncate(n int) PassPredictions {
	if len(p.Draws) == 0 {
		return p
	}
	out := make([][]float64, len(p.Draws))
	for k, d := range p.Draws {
		out[k] = d[:min(n, len(d))]
	}
	return PassPredictions{Draws: out}
}

func planRound(g Generation, round int, t Tally, p PlanPolicy, history []ProviderStats, predicted [][]float64) (RoundPlan, error) {
	if round < 1 || round > g.Settings.MaxRounds {
		return RoundPlan{}, FieldError("round", "must be from 1 to maxRounds (%d), got %d", g.Settings.MaxRounds, round)
	}
	needed := g.RequestedCount
	if round > 1 {
		needed = max(0, g.RequestedCount-t.Passed)
	}
	limit := roundLimit(g, t, history, p.UnitCost)
	// The bounds hold before anything is written, whatever the settings
	// and the planner say.
	bound := min(RoundBound(g.RequestedCount), max(0, GenerationBound(g.RequestedCount)-t.Generated))
	bounding := limit < 0 || bound < limit
	if bounding {
		limit = bound
	}
	plan := RoundPlan{Round: round, Needed: needed, BufferPercent: p.DefaultBufferPercent, BufferMethod: BufferAuto, Max: max(0, limit)}
	if !g.Settings.BufferPercent.Auto {
		plan.BufferPercent = g.Settings.BufferPercent.Percent
		plan.BufferMethod = BufferFixed
	}
	if p.Planner == nil {
		want := WithBuffer(needed, plan.BufferPercent)
		plan.Count = min(want, limit)
		if bounding && want > limit {
			plan.Capped, plan.Bounded = true, boundedNote(g, t, want, limit)
		}
		return plan, nil
	}
	q := SizeQuery{
		Need:           needed,
		Confidence:     g.Settings.TargetConfidence,
		DefaultPercent: p.DefaultBufferPercent,
		Model:          g.Model,
		History:        history,
		Passed:         t.Passed,
		Failed:         t.Generated - t.Passed - t.Errored, // an outage is no evidence about the provider
		Limit:          max(0, limit),
		Predicted:      predicted,
	}
	if !g.Settings.BufferPercent.Auto {
		percent := g.Settings.BufferPercent.Percent
		q.Percent = &percent
	}
	if limit == 0 || needed == 0 {
		// Nothing may (or need) be generated: a zero plan, whose
		// probability is 1 only when nothing is needed.
		prob := 0.0
		if needed == 0 {
			prob = 1
		}
		plan.Count, plan.PredictedDeliveryProbability, plan.Capped = 0, &prob, needed > 0
		return plan, nil
	}
	s := p.Planner.Size(q)
	// A cap can leave fewer than needed (maxCostUsd): no buffer, not a
	// negative one.
	plan.Count, plan.BufferPercent, plan.BufferMethod = s.Count, max(0, s.BufferPercent), s.Method
	plan.PredictedDeliveryProbability = &s.Probability
	plan.PosteriorAlpha, plan.PosteriorBeta, plan.Capped, plan.Predicted = s.Alpha, s.Beta, s.Capped, s.Predicted
	if bounding && s.Capped {
		// What keeping the promise would have needed, for the note only
		// (from the provider's rate: past the cap no candidate is drawn).
		q.Limit, q.Predicted = 0, nil
		if want := p.Planner.Size(q).Count; want > limit {
			plan.Bounded = boundedNote(g, t, want, limit)
		}
	}
	return plan, nil
}

// boundedNote says that a round planned less than it needed.
func boundedNote(g Generation, t Tally, want, planned int) string {
	return fmt.Sprintf("round needed %d images to keep the promise; planned %d, the bound (a round at most %d, "+
		"a generation at most %d images for count %d; %d planned before)",
		want, planned, RoundBound(g.RequestedCount), GenerationBound(g.RequestedCount), g.RequestedCount, t.Generated)
}

// roundLimit is the most candidates this round may have under maxImages and
// maxCostUsd, or −1 when neither applies. maxCostUsd prices a candidate at
// the highest of this generation's mean cost so far, the provider's
// recalibrated mean cost and the list price (unitCost), so that a
// generation never plans past its cap; with no price known and nothing
// generated yet, the round makes one image to learn the price.
func roundLimit(g Generation, t Tally, history []ProviderStats, unitCost func(provider, model string) float64) int {
	limit := -1
	if g.Settings.MaxImages > 0 {
		limit = max(0, g.Settings.MaxImages-t.Generated)
	}
	if g.Settings.MaxCostUSD > 0 {
		unit := 0.0
		if t.Generated > 0 {
			unit = t.CostUSD / float64(t.Generated)
		}
		for _, h := range history {
			if h.Model == g.Model {
				unit = max(unit, h.MeanCostUSD)
			}
		}
		if unitCost != nil {
			unit = max(unit, unitCost(g.Provider, g.Model))
		}
		byCost := -1
		switch {
		case unit > 0:
			// The epsilon keeps 1.00/0.25 at 4, not 3.9999…
			byCost = max(0, int(math.Floor((g.Settings.MaxCostUSD-t.CostUSD)/unit+1e-9)))
		case t.Generated == 0:
			byCost = 1
		}
		if byCost >= 0 && (limit < 0 || byCost < limit) {
			limit = byCost
		}
	}
	return limit
}

// WithBuffer returns ⌈n·(1 + percent/100)⌉ in integer arithmetic on hundredths
// of a percent, so 100 at 10 % is 110, never 111 through float error.
func WithBuffer(n int, percent float64) int {
	hundredths := int64(math.Round(percent * 100))
	const whole = 100 * 100
	return int((int64(n)*(whole+hundredths) + whole - 1) / whole)
}

// ChoiceRequest is what a ModifierChooser is asked for one round.
type ChoiceRequest struct {
	Provider string
	Count    int   // candidates in the round
	Seed     int64 // derived from (generation, round), so a re-plan draws the same
	// Learn is settings.useRLHFLearning. Without it the chooser still varies
	// the modifiers (the prompt design does not change) but reads no
	// statistics: the choice is uniform.
	Learn bool
	// BaseAlpha and BaseBeta, when positive, are the Beta posterior of the
	// provider/model's pass rate the round is planned with: a learning
	// chooser then predicts each candidate's pass probability from it and
	// its statistics of the candidate's modifiers (ModifierChoice.Predictions).
	BaseAlpha, BaseBeta float64
	// Need is how many images the round must deliver: the scale of the
	// exploration budget.
	Need int
}

// ModifierChoice is a round's modifiers, one list per candidate, and the
// negative-prompt terms learned for the provider.
type ModifierChoice struct {
	Modifiers [][]string
	// NegativeTerms go only into the negative prompt, and only for a
	// provider that accepts one; never into the positive prompt.
	NegativeTerms []string
	// Predictions, when the request carried a base posterior and the
	// chooser learns, are the candidates' predicted pass probabilities.
	Predictions PassPredictions
	// ExplorationCost is, per candidate, the expected images per delivered
	// image its modifiers cost over the best-known ones (nil: none).
	ExplorationCost []float64
}

// Truncate keeps the first n candidates of the choice. A chooser draws
// candidates one after another, so the first n of a larger choice are the
// choice of n.
func (c ModifierChoice) Truncate(n int) ModifierChoice {
	c.Modifiers = c.Modifiers[:min(n, len(c.Modifiers))]
	c.Predictions = c.Predictions.Truncate(n)
	if c.ExplorationCost != nil {
		c.ExplorationCost = c.ExplorationCost[:min(n, len(c.ExplorationCost))]
	}
	return c
}

// NewCandidates builds the planned candidates of a round: the base prompt with
// each candidate's modifiers, the request's negative prompt with the learned
// negative terms, and a seed derived from (generation, round, index), so
// re-planning with the same choice yields identical rows.
func NewCandidates(g Generation, plan RoundPlan, choice ModifierChoice) []Candidate {
	mods := choice.Modifiers
	negative := ComposeNegativePrompt(g.Settings.NegativePrompt, choice.NegativeTerms)
	out := make([]Candidate, plan.Count)
	for i := range out {
		var m []string
		if i < len(mods) {
			m = mods[i]
		}
		var predicted *float64
		if mean, ok := choice.Predictions.Mean(i); ok {
			predicted = &mean
		} else if plan.PosteriorAlpha > 0 && plan.PosteriorBeta > 0 {
			mean := plan.PosteriorAlpha / (plan.PosteriorAlpha + plan.PosteriorBeta)
			predicted = &mean
		}
		var cost float64
		if i < len(choice.ExplorationCost) {
			cost = choice.ExplorationCost[i]
		}
		out[i] = Candidate{
			GenerationID:    g.ID,
			Round:           plan.Round,
			Index:           i,
			Provider:        g.Provider,
			Model:           g.Model,
			Prompt:          ComposePrompt(g.BasePrompt, m),
			NegativePrompt:  negative,
			Modifiers:       m,
			Seed:            Seed(g.ID, plan.Round, i),
			Status:          CandidatePlanned,
			PredictedPass:   predicted,
			ExplorationCost: cost,
		}
	}
	return out
}

// ChooseModifiers asks chooser for a round's modifiers; a nil chooser
// chooses none.
func ChooseModifiers(ctx context.Context, chooser ModifierChooser, g Generation, plan RoundPlan) (ModifierChoice, error) {
	return chooseModifiers(ctx, chooser, g, plan, plan.Count, false)
}

// chooseModifiers asks for count candidates; with predict, it passes the
// plan's posterior for the chooser to predict from.
func chooseModifiers(ctx context.Context, chooser ModifierChooser, g Generation, plan RoundPlan, count int, predict bool) (ModifierChoice, error) {
	if chooser == nil || count == 0 {
		return ModifierChoice{}, nil
	}
	req := ChoiceRequest{
		Provider: g.Provider,
		Count:    count,
		Seed:     Seed(g.ID, plan.Round, -1),
		Learn:    g.Settings.UseRLHFLearning,
		Need:     plan.Needed,
	}
	if predict {
		req.BaseAlpha, req.BaseBeta = plan.PosteriorAlpha, plan.PosteriorBeta
	}
	choice, err := chooser.Choose(ctx, req)
	if err != nil {
		return ModifierChoice{}, fmt.Errorf("choose modifiers for round %d: %w", plan.Round, err)
	}
	return choice, nil
}

// ComposeNegativePrompt appends learned terms to the request's negative
// prompt, leaving out terms it already contains.
func ComposeNegativePrompt(base string, terms []string) string {
	out := base
	lower := strings.ToLower(base)
	for _, t := range terms {
		t = strings.TrimSpace(t)
		if t == "" || strings.Contains(lower, strings.ToLower(t)) {
			continue
		}
		if out != "" {
			out += ", "
		}
		out += t
		lower = strings.ToLower(out)
	}
	return out
}

// ComposePrompt appends modifiers to the base prompt.
func ComposePrompt(base string, modifiers []string) string {
	if len(modifiers) == 0 {
		return base
	}
	return base + ", " + strings.Join(modifiers, ", ")
}

// Seed derives a non-negative 63-bit seed from a candidate's identity.
func Seed(generationID string, round, index int) int64 {
	var buf [16]byte
	binary.BigEndian.PutUint64(buf[0:8], uint64(round))
	binary.BigEndian.PutUint64(buf[8:16], uint64(index))
	sum := sha256.Sum256(append([]byte(generationID), buf[:]...))
	return int64(binary.BigEndian.Uint64(sum[:8]) >> 1)
}
