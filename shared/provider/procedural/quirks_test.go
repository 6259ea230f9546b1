package procedural_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/learning"
	"github.com/designerbff/pipeline/shared/provider/procedural"
)

func TestQuirkTableStructure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		seed int64
	}{
		{"seed 1", 1}, {"seed 2", 2}, {"seed 3", 3}, {"seed 4", 4}, {"seed 5", 5}, {"default seed", procedural.DefaultQuirkSeed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := procedural.QuirkTable(tt.seed)
			require.Equal(t, q, procedural.QuirkTable(tt.seed), "same seed, same table")
			require.Equal(t, tt.seed, q.Seed)

			require.GreaterOrEqual(t, q.Neutral, 0.15)
			require.LessOrEqual(t, q.Neutral, 0.25)
			require.InDelta(t, q.Neutral, q.Probability(nil), 1e-12)
			var kinds float64
			for _, k := range procedural.Defects {
				require.Positive(t, q.NeutralKinds[k], "kind %s", k)
				kinds += q.NeutralKinds[k]
			}
			require.InDelta(t, 1, kinds, 1e-9)

			// Every catalog modifier is in the table, with its group.
			groups := map[string]bool{}
			for _, g := range learning.Catalog {
				for _, m := range g.Modifiers {
					mq, ok := q.Modifiers[m]
					require.True(t, ok, "modifier %q", m)
					require.Equal(t, g.Name, mq.Group)
					groups[mq.Group] = true
				}
			}
			require.GreaterOrEqual(t, len(q.Modifiers), 20)
			require.GreaterOrEqual(t, len(groups), 4)

			bad := q.WithRole(procedural.RoleBad)
			require.GreaterOrEqual(t, len(bad), 3)
			require.LessOrEqual(t, len(bad), 5)
			for _, m := range bad {
				p := q.Probability([]string{m})
				require.GreaterOrEqual(t, p, 0.5, "bad %q", m)
				require.LessOrEqual(t, p, 0.7, "bad %q", m)
				require.Contains(t, procedural.Defects, q.Modifiers[m].Kind)
			}
			good := q.WithRole(procedural.RoleGood)
			require.Len(t, good, 2)
			for _, m := range good {
				p := q.Probability([]string{m})
				require.Less(t, p, q.Neutral-0.03, "good %q", m)
				require.Greater(t, p, q.Neutral-0.1, "good %q lowers the odds a little", m)
			}
			neutral := q.WithRole(procedural.RoleNeutral)
			require.Len(t, neutral, len(q.Modifiers)-len(bad)-len(good))
			for _, m := range neutral {
				require.InDelta(t, q.Neutral, q.Probability([]string{m}), 0.011, "neutral %q", m)
			}

			// Modifiers combine as 1−Π(1−p); repeats and unknown names count as nothing.
			m1, m2 := bad[0], bad[1]
			want := 1 - (1-q.Neutral)*(1-q.Modifiers[m1].P)*(1-q.Modifiers[m2].P)
			require.InDelta(t, want, q.Probability([]string{m1, m2}), 1e-12)
			require.InDelta(t, want, q.Probability([]string{m1, m2, m1, "not a modifier"}), 1e-12)
		})
	}
}

func TestQuirkTablesDifferBySeed(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for seed := int64(1); seed <= 5; seed++ {
		bad := procedural.QuirkTable(seed).WithRole(procedural.RoleBad)
		seen[strings.Join(bad, "|")] = true
	}
	require.GreaterOrEqual(t, len(seen), 4, "bad modifier sets over 5 seeds")
}

// TestDecideMatchesTheTable checks the empirical defect rate over 2000 image
// seeds against the table, for neutral, good and bad prompts.
func TestDecideMatchesTheTable(t *testing.T) {
	t.Parallel()
	const n = 2000
	for quirkSeed := int64(1); quirkSeed <= 3; quirkSeed++ {
		q := procedural.QuirkTable(quirkSeed)
		neutral, bad, good := q.WithRole(procedural.RoleNeutral), q.WithRole(procedural.RoleBad), q.WithRole(procedural.RoleGood)
		tests := []struct {
			name string
			mods []string
		}{
			{"no modifiers", nil},
			{"neutral modifier", []string{neutral[0]}},
			{"two neutral modifiers", []string{neutral[1], neutral[2]}},
			{"good modifier", []string{good[0]}},
			{"bad modifier", []string{bad[0]}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				counts := map[procedural.Defect]int{}
				for s := int64(1); s <= n; s++ {
					counts[q.Decide(tt.mods, s)]++
				}
				rate := float64(n-counts[procedural.NoDefect]) / n
				require.InDelta(t, q.Probability(tt.mods), rate, 0.03, "quirk seed %d, modifiers %v", quirkSeed, tt.mods)
				for d := range counts {
					require.True(t, d == procedural.NoDefect || slices.Contains(procedural.Defects, d), "defect %q", d)
				}
				if len(tt.mods) == 1 && q.Modifiers[tt.mods[0]].Role == procedural.RoleBad {
					// The bad modifier's kind dominates its defects.
					kind := q.Modifiers[tt.mods[0]].Kind
					for d, k := range counts {
						if d != kind && d != procedural.NoDefect {
							require.Greater(t, counts[kind], k, "kind %s vs %s", kind, d)
						}
					}
				}
			})
		}
	}
}

func TestDecideNeutralKindsFollowTheTable(t *testing.T) {
	t.Parallel()
	q := procedural.QuirkTable(procedural.DefaultQuirkSeed)
	counts := map[procedural.Defect]int{}
	total := 0
	for s := int64(1); s <= 20000; s++ {
		if d := q.Decide(nil, s); d != procedural.NoDefect {
			counts[d]++
			total++
		}
	}
	for _, k := range procedural.Defects {
		share := float64(counts[k]) / float64(total)
		require.InDelta(t, q.NeutralKinds[k], share, 0.03, "kind %s", k)
	}
}
