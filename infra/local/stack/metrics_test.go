package stack_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/pgtest"
	"github.com/designerbff/pipeline/infra/local/stack"
	"github.com/designerbff/pipeline/shared/generation"
)

// emfSums adds up the metric values of EMF lines, by metric name and, for a
// metric with a dimension, "name/value".
func emfSums(t *testing.T, out []byte) map[string]float64 {
	t.Helper()
	sums := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var root map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(sc.Bytes(), &root))
		var meta struct {
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name string }
			}
		}
		require.NoError(t, json.Unmarshal(root["_aws"], &meta))
		for _, d := range meta.CloudWatchMetrics {
			require.Equal(t, "DesignerBFF/Pipeline", d.Namespace)
			suffix := ""
			for _, set := range d.Dimensions {
				for _, k := range set {
					var v string
					require.NoError(t, json.Unmarshal(root[k], &v))
					suffix += "/" + v
				}
			}
			for _, m := range d.Metrics {
				var vs []float64
				if json.Unmarshal(root[m.Name], &vs) != nil {
					var v float64
					require.NoError(t, json.Unmarshal(root[m.Name], &v))
					vs = []float64{v}
				}
				for _, v := range vs {
					sums[m.Name+suffix] += v
				}
			}
		}
	}
	require.NoError(t, sc.Err())
	return sums
}

// A generation through the real state machine reports each event once: the
// numbers are the generation's own, and replaying Deliver adds nothing.
func TestMetricsCountEachEventOnce(t *testing.T) {
	t.Parallel()
	var blank generation.Image
	provider := cleanProvider(func(_ generation.ProviderRequest, _, call int) (generation.Image, error, bool) {
		return blank, nil, call <= 2 // the first two images are placeholders
	})
	var out bytes.Buffer
	h := startHarness(t, nil, stack.Options{DatabaseURL: pgtest.NewURL(t), MapConcurrency: 4,
		Providers: map[string]generation.Provider{"procedural": provider}, Metrics: &out})
	blank = blankImage(t)
	g, err := h.run(`{"count": 4, "bufferPercent": 0}`)
	require.NoError(t, err)
	require.Equal(t, generation.StatusDelivered, g.Status)

	sums := emfSums(t, out.Bytes())
	require.Equal(t, 1.0, sums["Generations/delivered"])
	require.Equal(t, 6.0, sums["ImagesGenerated"], "4 in round 1, 2 in the top-up")
	require.Equal(t, 4.0, sums["ImagesPassed"])
	require.Equal(t, 2.0, sums["ImagesFailed"])
	require.Equal(t, 2.0, sums["FailuresByReason/blank"])
	require.Equal(t, 4.0, sums["ImagesDelivered"])
	require.Equal(t, 2.0, sums["Rounds"])
	require.InDelta(t, g.CostUSD, sums["CostUSD"], 1e-9)
	require.Equal(t, 6.0, sums["FeedbackPublished"], "one event per candidate, to the local queue")
	require.Zero(t, sums["FeedbackUnsent"])
	require.Positive(t, sums["TimeToDelivery"])

	lines := out.Len()
	_, err = h.stack.Pipeline.Deliver(context.Background(), g.ID)
	require.NoError(t, err)
	require.Equal(t, lines, out.Len(), "a replayed Deliver records nothing again")
}

// A generation failed without a delivery counts once in Generations, by
// the MarkFailed stage of its execution; running it again adds nothing.
func TestMetricsCountAFailedGenerationOnce(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	h := startHarness(t, nil, stack.Options{DatabaseURL: pgtest.NewURL(t), MapConcurrency: 4,
		Providers: map[string]generation.Provider{"procedural": cleanProvider(nil)}, Metrics: &out})
	valid, err := h.run(`{"count": 1}`)
	require.NoError(t, err)
	// As TestInvalidGenerationFailsWithAReasonAndWritesNothing: the API
	// refuses an unknown provider, so the stored generation is forged.
	forged := valid
	forged.ID, forged.Provider, forged.Settings.Provider = generation.NewID(), "imaginary", "imaginary"
	forged.Status, forged.ExecutionARN, forged.CompletedAt, forged.Error = generation.StatusPlanning, "", nil, ""
	_, _, err = h.stack.Store.CreateGeneration(t.Context(), forged)
	require.NoError(t, err)
	_, err = h.stack.Execute(t.Context(), forged.ID)
	require.Error(t, err)
	require.NoError(t, h.stack.Pipeline.MarkGenerationFailed(t.Context(), forged.ID, "replayed"))

	sums := emfSums(t, out.Bytes())
	require.Equal(t, 1.0, sums["Generations/delivered"])
	require.Equal(t, 1.0, sums["Generations/failed"])
	require.Equal(t, 1.0, sums["ImagesDelivered"], "only the delivered generation has image metrics")
}
