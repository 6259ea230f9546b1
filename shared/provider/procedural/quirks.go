package procedural

import (
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/designerbff/pipeline/shared/learning"
)

// Defect is a kind of fault the provider injects into an image after
// rendering. Each one is visible in the pixels alone.
type Defect string

// The defect kinds. NoDefect is a clean image.
const (
	NoDefect     Defect = ""
	Underexposed Defect = "underexposed" // gamma 3 and scaled: mean luma below 0.12
	Overexposed  Defect = "overexposed"  // at least 70 % of pixels clipped to white
	Blurry       Defect = "blurry"       // 3 box-blur passes, σ ≈ 5.5 px at 512 px: Laplacian variance collapses
	Blank        Defect = "blank"        // one flat colour with ±1 level of jitter, like a placeholder
	Noisy        Defect = "noisy"        // Gaussian noise σ = 40 levels per channel
	Duplicate    Defect = "duplicate"    // a clean image rendered from one of a few stock seeds, ignoring the prompt
)

// Defects lists every defect kind, in a fixed order.
var Defects = []Defect{Underexposed, Overexposed, Blurry, Blank, Noisy, Duplicate}

// Role is what a modifier does to the defect odds.
type Role string

// The modifier roles of a quirk table.
const (
	RoleNeutral Role = "neutral" // changes the odds by at most ±1 percentage point
	RoleBad     Role = "bad"     // raises the total to 50–70 %
	RoleGood    Role = "good"    // lowers the total by 4–9 points
)

// ModifierQuirk is one modifier's entry in the quirk table.
type ModifierQuirk struct {
	Group string
	Role  Role
	// P is the modifier's defect probability, combined with the others as
	// 1−Π(1−p). It is negative for good modifiers (they lower the total).
	P float64
	// Kind is the defect the modifier causes when it is the one that fires.
	Kind Defect
}

// Quirks is the table of defect odds the provider draws from QuirkSeed.
//
// Structure: an image has a neutral defect probability Neutral (16–22 %),
// whose defect kind follows NeutralKinds. Every modifier of
// learning.Catalog has an entry: 3–5 randomly chosen "bad" modifiers each
// lift the total to 50–70 % when present and cause one defect kind (a kind
// suggested by the modifier's wording, e.g. "night" → underexposed, "motion"
// → blurry, "minimal" → blank, otherwise a random kind); 2 "good" modifiers
// lower it by a few points; the rest are neutral within ±1 point. The
// probability of a request is 1−(1−Neutral)·Π(1−p) over its distinct known
// modifiers, clamped to [0, 1]. When a defect fires its kind comes from one
// of the sources (neutral or a modifier with p > 0), chosen in proportion
// to their p.
//
// The table exists for the provider itself, its tests and a benchmark
// oracle that scores the learner. The learner must never read it: it has to
// discover which modifiers cause failures from validation outcomes alone.
type Quirks struct {
	Seed         int64
	Neutral      float64
	NeutralKinds map[Defect]float64 // sums to 1
	Modifiers    map[string]ModifierQuirk
}

// quirkStream and decisionStream separate the PCG streams of the table and
// of the per-image decision, so that neither correlates with the rendering.
const (
	quirkStream    = 0x71c3_a5e1_0f0d_2b47
	decisionStream = 0x3d9e_4c21_b7a8_6f05
)

// kindHints maps words in a modifier to the defect a bad modifier with that
// wording plausibly causes. First match wins.
var kindHints = []struct {
	word string
	kind Defect
}{
	{"night", Underexposed}, {"low-key", Underexposed}, {"dark", Underexposed}, {"dramatic", Underexposed},
	{"motion", Blurry}, {"energetic", Blurry}, {"close-up", Blurry},
	{"minimal", Blank}, {"plain", Blank},
	{"white", Overexposed}, {"airy", Overexposed}, {"high contrast", Overexposed}, {"golden", Overexposed},
	{"grain", Noisy}, {"neon", Noisy}, {"textured", Noisy},
	{"catalog", Duplicate}, {"stock", Duplicate},
}

// QuirkTable draws the quirk table for seed over learning.Catalog. The same
// seed always gives the same table.
//
// It is exported for this package's tests and a benchmark oracle only; the
// learner must never read it.
func QuirkTable(seed int64) Quirks {
	rng := rand.New(rand.NewPCG(uint64(seed), quirkStream))
	q := Quirks{
		Seed:         seed,
		Neutral:      0.16 + 0.06*rng.Float64(),
		NeutralKinds: make(map[Defect]float64, len(Defects)),
		Modifiers:    make(map[string]ModifierQuirk),
	}
	var sum float64
	for _, k := range Defects {
		w := 0.5 + rng.Float64()
		q.NeutralKinds[k] = w
		sum += w
	}
	for k := range q.NeutralKinds {
		q.NeutralKinds[k] /= sum
	}

	type entry struct{ name, group string }
	var all []entry
	for _, g := range learning.Catalog {
		for _, m := range g.Modifiers {
			all = append(all, entry{m, g.Name})
		}
	}
	perm := rng.Perm(len(all))
	nBad := min(3+rng.IntN(3), len(all))
	nGood := min(2, len(all)-nBad)
	// pFor is the p that takes the neutral probability to total.
	pFor := func(total float64) float64 { return 1 - (1-total)/(1-q.Neutral) }
	for rank, idx := range perm {
		e := all[idx]
		kind := Defects[rng.IntN(len(Defects))] // drawn always, so the stream does not depend on hints
		mq := ModifierQuirk{Group: e.group, Kind: kind}
		switch {
		case rank < nBad:
			mq.Role = RoleBad
			mq.P = pFor(0.52 + 0.16*rng.Float64())
			if hint, ok := hintedKind(e.name); ok {
				mq.Kind = hint
			}
		case rank < nBad+nGood:
			mq.Role = RoleGood
			mq.P = pFor(q.Neutral - 0.04 - 0.05*rng.Float64())
			mq.Kind = NoDefect
		default:
			mq.Role = RoleNeutral
			mq.P = 0.02*rng.Float64() - 0.01
		}
		q.Modifiers[e.name] = mq
	}
	return q
}

func hintedKind(modifier string) (Defect, bool) {
	m := strings.ToLower(modifier)
	for _, h := range kindHints {
		if strings.Contains(m, h.word) {
			return h.kind, true
		}
	}
	return NoDefect, false
}

// Probability is the chance that an image with these modifiers has a
// defect. Unknown and repeated modifiers count as nothing.
func (q Quirks) Probability(modifiers []string) float64 {
	keep := 1 - q.Neutral
	for _, m := range distinct(modifiers) {
		if mq, ok := q.Modifiers[m]; ok {
			keep *= 1 - mq.P
		}
	}
	return min(max(1-keep, 0), 1)
}

// WithRole returns the modifiers with the given role, sorted.
func (q Quirks) WithRole(role Role) []string {
	var out []string
	for m, mq := range q.Modifiers {
		if mq.Role == role {
			out = append(out, m)
		}
	}
	slices.Sort(out)
	return out
}

// Decide returns the defect of an image with these modifiers and seed
// (NoDefect for a clean image). It is deterministic.
func (q Quirks) Decide(modifiers []string, seed int64) Defect {
	rng := rand.New(rand.NewPCG(uint64(seed), decisionStream^uint64(q.Seed)))
	if rng.Float64() >= q.Probability(modifiers) {
		return NoDefect
	}
	// Pick the source of the defect in proportion to its p.
	type source struct {
		p    float64
		kind Defect // NoDefect: the neutral source, kind from NeutralKinds
	}
	sources := []source{{p: q.Neutral}}
	total := q.Neutral
	for _, m := range distinct(modifiers) {
		if mq, ok := q.Modifiers[m]; ok && mq.P > 0 {
			sources = append(sources, source{mq.P, mq.Kind})
			total += mq.P
		}
	}
	r := rng.Float64() * total
	chosen := sources[0]
	for _, s := range sources {
		if r < s.p {
			chosen = s
			break
		}
		r -= s.p
	}
	if chosen.kind != NoDefect {
		return chosen.kind
	}
	r = rng.Float64()
	for _, k := range Defects {
		if r < q.NeutralKinds[k] {
			return k
		}
		r -= q.NeutralKinds[k]
	}
	return Defects[len(Defects)-1] // rounding left r just above the last weight
}

func distinct(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
