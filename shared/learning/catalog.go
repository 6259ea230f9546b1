// Package learning holds the prompt-modifier catalog and the choice of
// modifiers per candidate. Issue 6 replaces the uniform choice with Thompson
// sampling over the learner's attribute statistics; the catalog stays.
package learning

import (
	"math/rand/v2"
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

// Modifiers returns every modifier of the catalog.
func Modifiers() []string {
	var out []string
	for _, g := range Catalog {
		out = append(out, g.Modifiers...)
	}
	return out
}

// UniformChooser picks one modifier from each of PerCandidate random groups,
// uniformly. It is deterministic for a seed.
type UniformChooser struct {
	PerCandidate int // groups per candidate; 0 means 2
}

// Choose returns count modifier lists.
func (u UniformChooser) Choose(provider string, count int, seed int64) [][]string {
	per := u.PerCandidate
	if per <= 0 {
		per = 2
	}
	per = min(per, len(Catalog))
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	out := make([][]string, count)
	for i := range out {
		groups := rng.Perm(len(Catalog))[:per]
		mods := make([]string, 0, per)
		for _, gi := range groups {
			g := Catalog[gi]
			mods = append(mods, g.Modifiers[rng.IntN(len(g.Modifiers))])
		}
		out[i] = mods
	}
	return out
}
