package cloudwatch_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/cloudwatch"
	"github.com/designerbff/pipeline/shared/generation"
)

// line is one EMF line, decoded.
type line struct {
	Namespace string
	Timestamp int64
	Dims      map[string]string
	Values    map[string][]float64
	Units     map[string]string
}

// emfSchema is the spec's document structure (testdata/emf.schema.json).
func emfSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("testdata/emf.schema.json")
	require.NoError(t, err)
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	require.NoError(t, c.AddResource("emf.schema.json", doc))
	schema, err := c.Compile("emf.schema.json")
	require.NoError(t, err)
	return schema
}

// checkLines checks every line of out against the schema and against what
// a schema cannot say, and decodes it.
func checkLines(t *testing.T, out []byte) []line {
	t.Helper()
	schema := emfSchema(t)
	var lines []line
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		raw := sc.Text()
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(raw))
		require.NoError(t, err, "one JSON object per line: %s", raw)
		require.NoError(t, schema.Validate(inst), raw)

		var root map[string]json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(raw), &root))
		var meta struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		}
		require.NoError(t, json.Unmarshal(root["_aws"], &meta))
		require.Len(t, meta.CloudWatchMetrics, 1, raw)
		d := meta.CloudWatchMetrics[0]
		l := line{Namespace: d.Namespace, Timestamp: meta.Timestamp, Dims: map[string]string{}, Values: map[string][]float64{}, Units: map[string]string{}}
		for _, set := range d.Dimensions {
			for _, k := range set {
				var v string
				require.NoError(t, json.Unmarshal(root[k], &v), "dimension %q is a string member of the root: %s", k, raw)
				l.Dims[k] = v
			}
		}
		for _, m := range d.Metrics {
			member, ok := root[m.Name]
			require.True(t, ok, "metric %q is a member of the root: %s", m.Name, raw)
			var v float64
			if json.Unmarshal(member, &v) == nil {
				l.Values[m.Name] = []float64{v}
			} else {
				var vs []float64
				require.NoError(t, json.Unmarshal(member, &vs), "metric %q is a number or an array of numbers: %s", m.Name, raw)
				require.NotEmpty(t, vs)
				require.LessOrEqual(t, len(vs), 100, "at most 100 values per metric")
				l.Values[m.Name] = vs
			}
			l.Units[m.Name] = m.Unit
		}
		lines = append(lines, l)
	}
	require.NoError(t, sc.Err())
	return lines
}

func TestRecordWritesValidEMF(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	at := time.Date(2026, 12, 3, 9, 30, 0, 0, time.UTC)
	e := cloudwatch.New(&out, "DesignerBFF/test")
	e.Now = func() time.Time { return at }

	many := make([]float64, 150)
	for i := range many {
		many[i] = float64(i)
	}
	e.Record(context.Background(), []generation.MetricPoint{
		{Name: "ImagesGenerated", Unit: generation.UnitCount, Values: []float64{14}},
		{Name: "DeliveredScore", Unit: generation.UnitNone, Values: many},
		{Name: "CostUSD", Unit: generation.UnitNone, Values: []float64{math.NaN()}}, // dropped: JSON has no NaN
		{Name: "FailuresByReason", Unit: generation.UnitCount, Dimensions: map[string]string{"Reason": "blurry"}, Values: []float64{2}},
		{Name: "FailuresByReason", Unit: generation.UnitCount, Dimensions: map[string]string{"Reason": "filtered"}, Values: []float64{1}},
		{Name: "FailuresByReason", Unit: generation.UnitCount, Dimensions: map[string]string{"Reason": "blurry"}, Values: []float64{1}},
	})
	lines := checkLines(t, out.Bytes())

	type key struct{ name, reason string }
	sums := map[key]float64{}
	counts := map[key]int{}
	for _, l := range lines {
		require.Equal(t, "DesignerBFF/test", l.Namespace)
		require.Equal(t, at.UnixMilli(), l.Timestamp)
		for name, vs := range l.Values {
			k := key{name, l.Dims["Reason"]}
			for _, v := range vs {
				sums[k] += v
				counts[k]++
			}
		}
		require.NotContains(t, l.Values, "CostUSD")
	}
	require.Equal(t, map[key]float64{
		{"ImagesGenerated", ""}:          14,
		{"DeliveredScore", ""}:           149 * 150 / 2,
		{"FailuresByReason", "blurry"}:   3,
		{"FailuresByReason", "filtered"}: 1,
	}, sums)
	require.Equal(t, 150, counts[key{"DeliveredScore", ""}], "every value, over two lines")
	require.Len(t, lines, 4, "no dimension (two lines: 150 values), Reason=blurry, Reason=filtered")
}

// Every metric the pipeline reports for a delivery makes valid lines, with
// its catalogue unit.
func TestDeliveryMetricsAreValidEMF(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	g := generation.Generation{ID: generation.NewID(), RequestedCount: 1, CreatedAt: created, Rounds: 1}
	cands := []generation.Candidate{
		{ID: generation.NewID(), Round: 1, Status: generation.CandidateValidated, CostUSD: 0.04, Verdict: &generation.Verdict{Score: 88, Passed: true}},
		{ID: generation.NewID(), Round: 1, Index: 1, Status: generation.CandidateValidated, CostUSD: 0.04, Verdict: &generation.Verdict{Score: 30, Reasons: []string{"blurry"}}},
		{ID: generation.NewID(), Round: 1, Index: 2, Status: generation.CandidateFiltered, FailureReason: "filtered: safety"},
	}
	d := generation.Deliver(g, cands, created.Add(time.Minute))
	var out bytes.Buffer
	cloudwatch.New(&out, "DesignerBFF/test").Record(context.Background(), generation.DeliveryMetrics(g, cands, d, len(d.Feedback), len(d.Feedback)))
	seen := map[string]bool{}
	for _, l := range checkLines(t, out.Bytes()) {
		for name, unit := range l.Units {
			def, ok := generation.MetricNamed(name)
			require.True(t, ok, name)
			require.Equal(t, string(def.Unit), unit, name)
			if def.Dimension != "" {
				require.Contains(t, l.Dims, def.Dimension, name)
			}
			seen[name] = true
		}
	}
	for _, m := range generation.Metrics {
		require.True(t, seen[m.Name], "%s is reported for a delivery", m.Name)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("stdout closed") }

// A line that cannot be written is logged and dropped: metrics never fail
// a stage.
func TestRecordDropsWhatItCannotWrite(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	e := cloudwatch.New(failingWriter{}, "DesignerBFF/test")
	e.Logger = slog.New(slog.NewTextHandler(&log, nil))
	e.Record(context.Background(), []generation.MetricPoint{{Name: "ImagesGenerated", Unit: generation.UnitCount, Values: []float64{1}}})
	require.Contains(t, log.String(), "stdout closed")
}

// The schema refuses what the spec forbids, so a line it accepts is not
// accepted by default.
func TestSchemaRefusesMalformedLines(t *testing.T) {
	t.Parallel()
	schema := emfSchema(t)
	for name, doc := range map[string]string{
		"no _aws":          `{"ImagesGenerated": 1}`,
		"no Timestamp":     `{"_aws": {"CloudWatchMetrics": []}, "ImagesGenerated": 1}`,
		"string Timestamp": `{"_aws": {"Timestamp": "now", "CloudWatchMetrics": []}}`,
		"no Namespace":     `{"_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Dimensions": [[]], "Metrics": []}]}}`,
		"no Dimensions":    `{"_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "n", "Metrics": []}]}}`,
		"unknown unit":     `{"_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "n", "Dimensions": [[]], "Metrics": [{"Name": "x", "Unit": "Dollars"}]}]}, "x": 1}`,
		"unnamed metric":   `{"_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "n", "Dimensions": [[]], "Metrics": [{"Unit": "Count"}]}]}}`,
	} {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
		require.NoError(t, err, name)
		require.Error(t, schema.Validate(inst), name)
	}
}
