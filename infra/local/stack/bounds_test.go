package stack_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
)

// gradientPNG is a smooth 64×64 grey gradient: the reference from
// which every procedural candidate came out blank, dark or noisy.
func gradientPNG(t *testing.T) []byte {
	img := image.NewGray(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			img.SetGray(x, y, color.Gray{Y: uint8(2 * (x + y))})
		}
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

// The runaway through the real definition: N = 6 from a reference
// where nothing passes (the gradient; the provider answers every
// call with a blank placeholder, because today's procedural provider draws
// passing images from that gradient). Round 1 plans the cold start's 11;
// round 2's planner wants tens of thousands (the request's own 11
// failures) and plans the round's bound (3 × 6 = 18); round 3 plans the 1
// the generation's bound (5 × 6 = 30) leaves.
// The generation ends failed with the reason, after 30 images.
func TestRunawayTopUpStopsAtTheBound(t *testing.T) {
	t.Parallel()
	blank := blankImage(t)
	h := newHarness(t, cleanProvider(func(generation.ProviderRequest, int, int) (generation.Image, error, bool) {
		return blank, nil, true
	}), nil)
	h.reference = gradientPNG(t)
	g, err := h.run(`{"count": 6, "strict": true}`)
	require.NoError(t, err)
	require.Equal(t, generation.StatusFailed, g.Status, g.Error)
	require.Contains(t, g.Error, "stopped after 30 images, the most a generation of 6 may make")
	require.Equal(t, 3, g.Rounds)

	perRound := map[int]int{}
	for _, c := range h.candidates(g.ID) {
		perRound[c.Round]++
		require.False(t, c.Verdict != nil && c.Verdict.Passed, "every candidate fails (%s)", c.Status)
	}
	require.Equal(t, map[int]int{1: 11, 2: 18, 3: 1}, perRound)
	for round, n := range perRound {
		require.LessOrEqual(t, n, generation.RoundBound(6), "round %d", round)
	}

}
