// Package cloudwatch reports the pipeline's metrics to Amazon CloudWatch
// the way Lambda functions are meant to: as log lines in CloudWatch's
// embedded metric format (EMF), which CloudWatch Logs turns into metrics.
// No API call, no permission beyond the function's logs, nothing on the
// request's path but one write to stdout.
//
// The writer is this package's own: AWS maintains EMF client libraries for
// Node.js, Python, Java and .NET but none for Go, and no well-kept Go one
// is among the modules this project draws on. The format is one JSON object
// per line (the spec's _aws metadata, the dimension values and the metric
// values as top-level members), which EMF.Record writes in a few dozen
// lines, splitting at the spec's limits (100 metrics a directive, 100
// values a metric); its test checks every line against a JSON schema of
// the spec's document structure.
package cloudwatch

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/designerbff/pipeline/shared/generation"
)

// The spec's limits: values per metric (an array) and metrics per
// directive.
const (
	maxValues  = 100
	maxMetrics = 100
)

// EMF writes metric points as embedded-metric-format lines to W (stdout in
// Lambda: the function's log group).
type EMF struct {
	W         io.Writer
	Namespace string // METRICS_NAMESPACE
	Now       func() time.Time
	Logger    *slog.Logger // a line that cannot be written (default slog.Default())

	mu sync.Mutex // one line at a time: concurrent lines must not interleave
}

// New is an EMF writer to w in namespace.
func New(w io.Writer, namespace string) *EMF {
	return &EMF{W: w, Namespace: namespace, Now: time.Now}
}

// Record writes points, one line per dimension set (CloudWatch applies a
// line's dimension sets to every metric in it). Non-finite values are
// dropped (JSON has no NaN); a failed write is logged and dropped.
func (e *EMF) Record(ctx context.Context, points []generation.MetricPoint) {
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	ts := now().UnixMilli()
	for _, g := range groupByDimensions(points) {
		for _, line := range g.lines() {
			doc := map[string]any{}
			for k, v := range g.dims {
				doc[k] = v
			}
			metrics := make([]metricDefinition, 0, len(line))
			for _, m := range line {
				metrics = append(metrics, metricDefinition{Name: m.name, Unit: string(m.unit)})
				if len(m.values) == 1 {
					doc[m.name] = m.values[0]
				} else {
					doc[m.name] = m.values
				}
			}
			doc["_aws"] = metadata{Timestamp: ts, CloudWatchMetrics: []metricDirective{{
				Namespace: e.Namespace, Dimensions: [][]string{g.keys}, Metrics: metrics,
			}}}
			e.write(ctx, doc)
		}
	}
}

func (e *EMF) write(ctx context.Context, doc map[string]any) {
	b, err := json.Marshal(doc)
	if err == nil {
		e.mu.Lock()
		_, err = e.W.Write(append(b, '\n'))
		e.mu.Unlock()
	}
	if err != nil {
		l := e.Logger
		if l == nil {
			l = slog.Default()
		}
		l.WarnContext(ctx, "metrics line not written", "error", err)
	}
}

type metadata struct {
	Timestamp         int64             `json:"Timestamp"`
	CloudWatchMetrics []metricDirective `json:"CloudWatchMetrics"`
}

type metricDirective struct {
	Namespace  string             `json:"Namespace"`
	Dimensions [][]string         `json:"Dimensions"`
	Metrics    []metricDefinition `json:"Metrics"`
}

type metricDefinition struct {
	Name string `json:"Name"`
	Unit string `json:"Unit,omitempty"`
}

type metric struct {
	name   string
	unit   generation.MetricUnit
	values []float64
}

type dimensionGroup struct {
	keys    []string // sorted dimension names ([] for none)
	dims    map[string]string
	metrics []metric
}

// groupByDimensions groups points by their dimension values, in the order
// they come, merging the values of a metric named twice in one group.
func groupByDimensions(points []generation.MetricPoint) []*dimensionGroup {
	var groups []*dimensionGroup
	byKey := map[string]*dimensionGroup{}
	for _, p := range points {
		values := make([]float64, 0, len(p.Values))
		for _, v := range p.Values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				values = append(values, v)
			}
		}
		if len(values) == 0 {
			continue
		}
		keys := make([]string, 0, len(p.Dimensions))
		for k := range p.Dimensions {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var id strings.Builder
		for _, k := range keys {
			id.WriteString(k + "\x00" + p.Dimensions[k] + "\x00")
		}
		g := byKey[id.String()]
		if g == nil {
			g = &dimensionGroup{keys: keys, dims: p.Dimensions}
			byKey[id.String()] = g
			groups = append(groups, g)
		}
		if i := slices.IndexFunc(g.metrics, func(m metric) bool { return m.name == p.Name }); i >= 0 {
			g.metrics[i].values = append(g.metrics[i].values, values...)
			continue
		}
		g.metrics = append(g.metrics, metric{name: p.Name, unit: p.Unit, values: values})
	}
	return groups
}

// lines splits a group within the spec's limits: at most maxMetrics
// metrics per line and maxValues values per metric (the rest of a longer
// metric goes on further lines).
func (g *dimensionGroup) lines() [][]metric {
	var out [][]metric
	pending := slices.Clone(g.metrics)
	for len(pending) > 0 {
		var line, rest []metric
		for _, m := range pending {
			if len(line) == maxMetrics {
				rest = append(rest, m)
				continue
			}
			n := min(len(m.values), maxValues)
			line = append(line, metric{name: m.name, unit: m.unit, values: m.values[:n]})
			if n < len(m.values) {
				rest = append(rest, metric{name: m.name, unit: m.unit, values: m.values[n:]})
			}
		}
		out = append(out, line)
		pending = rest
	}
	return out
}
