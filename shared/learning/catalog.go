// Package learning chooses prompt modifiers per candidate from a catalog of
// attribute groups, by Thompson sampling from a Bayesian logistic regression
// of the provider's recent outcomes on the modifiers (predict.go; with no
// outcome to fit, over the learner's per-(provider, attribute) Beta
// statistics), within an exploration budget priced in expected images;
// predicts each chosen candidate's pass probability for the planner; and
// derives negative-prompt terms from failure reasons. It is pure: outcomes
// and statistics come through the generation.AttributeStatsReader port, and
// it never sees a provider's internals. The regression is hand-written over
// gonum's linear algebra: gonum has no GLM, and a Newton fit of thirty-odd
// coefficients is a few lines.
package learning

import (
	"math/rand/v2"
	"slices"
)

// Group is one attribute group: a candidate gets at most one modifier of it.
type Group struct {
	Name      string
	Modifiers []string
}

// Catalog is the default set of prompt modifiers, by attribute group. The
// procedural provider's quirk table is drawn over these names; the learner
// must discover which of them cause failures from outcomes alone.
var Catalog = []Group{
	{"lighting", []string{"soft daylight", "golden hour", "studio lighting", "low-key lighting", "neon glow", "overcast light"}},
	{"background", []string{"plain white background", "urban street", "minimal backdrop", "nature scene", "textured wall", "gradient backdrop"}},
	{"framing", []string{"full body shot", "close-up detail", "three-quarter view", "flat lay", "wide shot", "motion shot"}},
	{"style", []string{"editorial", "catalog photo", "film grain", "high contrast", "pastel tones", "monochrome"}},
	{"mood", []string{"calm", "energetic", "dramatic", "playful", "night scene", "airy"}},
}

// groupsFor returns the indexes of the groups a candidate draws from, in
// catalog order: all of them, or per random ones.
func groupsFor(catalog []Group, per int, rng *rand.Rand) []int {
	if per <= 0 || per >= len(catalog) {
		idx := make([]int, len(catalog))
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	idx := rng.Perm(len(catalog))[:per]
	slices.Sort(idx)
	return idx
}

func uniformPick(catalog []Group, per int, rng *rand.Rand) []string {
	groups := groupsFor(catalog, per, rng)
	mods := make([]string, 0, len(groups))
	for _, gi := range groups {
		g := catalog[gi]
		mods = append(mods, g.Modifiers[rng.IntN(len(g.Modifiers))])
	}
	return mods
}

func newRNG(seed int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x5eed))
}
