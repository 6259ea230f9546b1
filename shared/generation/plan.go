package generation

import (
	"crypto/sha256"
	"encoding/binary"
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
	// PredictedDeliveryProbability is P(at least Needed pass) when a planner
	// that models pass rates sized the round; nil for a flat percentage.
	PredictedDeliveryProbability *float64
}

// PlanPolicy carries the environment's planning defaults.
type PlanPolicy struct {
	DefaultBufferPercent float64 // DEFAULT_BUFFER_PERCENT, used when settings say "auto"
}

// Tally is what earlier rounds of a generation produced.
type Tally struct {
	Generated int     // candidates planned in earlier rounds
	Passed    int     // candidates that passed validation
	CostUSD   float64 // spent so far
}

// TallyOf counts candidates' outcomes.
func TallyOf(cands []Candidate) Tally {
	var t Tally
	for _, c := range cands {
		t.Generated++
		t.CostUSD += c.CostUSD
		if c.Verdict != nil && c.Verdict.Passed {
			t.Passed++
		}
	}
	return t
}

// PlanRound sizes round `round` of g given what earlier rounds produced. Round
// 1 plans for the whole count; a later round plans only the shortfall. The
// count is capped by settings.maxImages; a plan of zero means the budget is
// spent.
func PlanRound(g Generation, round int, t Tally, p PlanPolicy) (RoundPlan, error) {
	if round < 1 || round > g.Settings.MaxRounds {
		return RoundPlan{}, FieldError("round", "must be from 1 to maxRounds (%d), got %d", g.Settings.MaxRounds, round)
	}
	needed := g.RequestedCount
	if round > 1 {
		needed = max(0, g.RequestedCount-t.Passed)
	}
	plan := RoundPlan{Round: round, Needed: needed, BufferPercent: p.DefaultBufferPercent, BufferMethod: BufferAuto}
	if !g.Settings.BufferPercent.Auto {
		plan.BufferPercent = g.Settings.BufferPercent.Percent
		plan.BufferMethod = BufferFixed
	}
	plan.Count = WithBuffer(needed, plan.BufferPercent)
	if g.Settings.MaxImages > 0 {
		plan.Count = min(plan.Count, max(0, g.Settings.MaxImages-t.Generated))
	}
	return plan, nil
}

// WithBuffer returns ⌈n·(1 + percent/100)⌉ in integer arithmetic on hundredths
// of a percent, so 100 at 10 % is 110, never 111 through float error.
func WithBuffer(n int, percent float64) int {
	hundredths := int64(math.Round(percent * 100))
	const whole = 100 * 100
	return int((int64(n)*(whole+hundredths) + whole - 1) / whole)
}

// ModifierChooser picks prompt modifiers for each candidate of a round, so
// that outcomes can be attributed to modifiers (shared/learning).
type ModifierChooser interface {
	Choose(provider string, count int, seed int64) [][]string
}

// NewCandidates builds the planned candidates of a round: the base prompt with
// each candidate's modifiers, the request's negative prompt and a seed derived
// from (generation, round, index), so re-planning yields identical rows.
func NewCandidates(g Generation, plan RoundPlan, chooser ModifierChooser) []Candidate {
	var mods [][]string
	if chooser != nil && g.Settings.UseRLHFLearning {
		mods = chooser.Choose(g.Provider, plan.Count, Seed(g.ID, plan.Round, -1))
	}
	out := make([]Candidate, plan.Count)
	for i := range out {
		var m []string
		if i < len(mods) {
			m = mods[i]
		}
		out[i] = Candidate{
			GenerationID:   g.ID,
			Round:          plan.Round,
			Index:          i,
			Provider:       g.Provider,
			Model:          g.Model,
			Prompt:         ComposePrompt(g.BasePrompt, m),
			NegativePrompt: g.Settings.NegativePrompt,
			Modifiers:      m,
			Seed:           Seed(g.ID, plan.Round, i),
			Status:         CandidatePlanned,
		}
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
