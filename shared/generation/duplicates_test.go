package generation_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
)

// printed gives c a fingerprint; sameFingerprint calls equal ones the same.
func printed(c generation.Candidate, fp string) generation.Candidate {
	v := *c.Verdict
	v.Fingerprint = fp
	c.Verdict = &v
	return c
}

func sameFingerprint(a, b generation.Verdict) bool {
	return a.Fingerprint != "" && a.Fingerprint == b.Fingerprint
}

func TestMarkDuplicates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		cands      []generation.Candidate
		wantMarked []int // indexes of the candidates that become duplicates
	}{
		{name: "no twins", cands: []generation.Candidate{
			printed(cand(0, 90, true), "a"), printed(cand(1, 80, true), "b")}},
		{name: "lower-scored twin fails, whatever the order", cands: []generation.Candidate{
			printed(cand(0, 72, true), "a"), printed(cand(1, 95, true), "a"), printed(cand(2, 80, true), "b")},
			wantMarked: []int{0}},
		{name: "three of a kind keep the best", cands: []generation.Candidate{
			printed(cand(0, 85, true), "a"), printed(cand(1, 90, true), "a"), printed(cand(2, 88, true), "a")},
			wantMarked: []int{0, 2}},
		{name: "equal scores: the earlier index is kept", cands: []generation.Candidate{
			printed(cand(0, 80, true), "a"), printed(cand(1, 80, true), "a")},
			wantMarked: []int{1}},
		{name: "a failed twin does not make a passing one a duplicate", cands: []generation.Candidate{
			printed(cand(0, 30, false), "a"), printed(cand(1, 80, true), "a")}},
		{name: "no fingerprint, no twin", cands: []generation.Candidate{
			printed(cand(0, 80, true), ""), printed(cand(1, 80, true), "")}},
		{name: "candidates without a verdict are skipped", cands: []generation.Candidate{
			cand(0, -1, false), printed(cand(1, 80, true), "a")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, marked := generation.MarkDuplicates(tt.cands, sameFingerprint)
			var wantIDs []string
			for _, i := range tt.wantMarked {
				wantIDs = append(wantIDs, tt.cands[i].ID)
			}
			require.ElementsMatch(t, wantIDs, marked)
			for i, c := range got {
				dup := false
				for _, j := range tt.wantMarked {
					dup = dup || i == j
				}
				if dup {
					require.False(t, c.Verdict.Passed)
					require.Contains(t, c.Verdict.Reasons, generation.ReasonDuplicate)
					require.True(t, tt.cands[i].Verdict.Passed, "the input is not changed")
				} else if c.Verdict != nil {
					require.Equal(t, tt.cands[i].Verdict, c.Verdict)
				}
			}
			// Idempotent: nothing more to mark in the output.
			_, again := generation.MarkDuplicates(got, sameFingerprint)
			require.Empty(t, again)
			// The tally sees the true pass count.
			require.Equal(t, countPassed(tt.cands)-len(tt.wantMarked), generation.TallyOf(got).Passed)
		})
	}
}

func countPassed(cands []generation.Candidate) int {
	n := 0
	for _, c := range cands {
		if c.Verdict != nil && c.Verdict.Passed {
			n++
		}
	}
	return n
}
