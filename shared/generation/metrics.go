package generation

import (
	"slices"
	"strings"
)

// MetricUnit is a CloudWatch unit name (the embedded metric format's Unit).
type MetricUnit string

// The units the pipeline's metrics use.
const (
	UnitCount   MetricUnit = "Count"
	UnitSeconds MetricUnit = "Seconds"
	UnitNone    MetricUnit = "None"
)

// MetricDef is one metric the pipeline reports.
type MetricDef struct {
	Name string
	Unit MetricUnit
	// Dimension is the one dimension the metric is reported by ("": none,
	// so alarms and sums read it without naming one).
	Dimension string
	Meaning   string
}

// The metrics' names.
const (
	MetricGenerations       = "Generations"
	MetricImagesGenerated   = "ImagesGenerated"
	MetricImagesPassed      = "ImagesPassed"
	MetricImagesFailed      = "ImagesFailed"
	MetricImagesDelivered   = "ImagesDelivered"
	MetricFailuresByReason  = "FailuresByReason"
	MetricCostUSD           = "CostUSD"
	MetricTimeToDelivery    = "TimeToDelivery"
	MetricRounds            = "Rounds"
	MetricDeliveredScore    = "DeliveredScore"
	MetricFeedbackPublished = "FeedbackPublished"
	MetricFeedbackUnsent    = "FeedbackUnsent"
)

// Metrics are every metric the pipeline reports, each once per delivered
// generation (DeliveryMetrics); a generation failed without a delivery
// counts in Generations only (FailedGenerationMetrics). The metrics writer declares them from this
// list, and infra/sam checks template.yaml's dashboard and alarms against
// it, so the code and the dashboard cannot name different metrics.
var Metrics = []MetricDef{
	{MetricGenerations, UnitCount, "Status", "generations finished, by final status (Deliver's, or failed by MarkFailed, an ended execution or the stall sweep)"},
	{MetricImagesGenerated, UnitCount, "", "images a provider returned and the pipeline stored"},
	{MetricImagesPassed, UnitCount, "", "images that passed validation (near-duplicates of a better one do not)"},
	{MetricImagesFailed, UnitCount, "", "candidates with an outcome that is not a pass: refused or failed by the provider, or failed validation"},
	{MetricImagesDelivered, UnitCount, "", "images delivered to the user"},
	{MetricFailuresByReason, UnitCount, "Reason", "failure reasons: a provider's error kind, or each validator reason of a failed image"},
	{MetricCostUSD, UnitNone, "", "a generation's provider spend in USD"},
	{MetricTimeToDelivery, UnitSeconds, "", "from the request to the committed delivery"},
	{MetricRounds, UnitCount, "", "rounds a generation took (1 + top-ups)"},
	{MetricDeliveredScore, UnitNone, "", "validator score of each delivered image"},
	{MetricFeedbackPublished, UnitCount, "", "feedback events published to the learner's queue at delivery"},
	{MetricFeedbackUnsent, UnitCount, "", "feedback events stored but not published (folded later by the learner or Recalibrate)"},
}

// MetricNamed is the definition of the metric called name.
func MetricNamed(name string) (MetricDef, bool) {
	i := slices.IndexFunc(Metrics, func(m MetricDef) bool { return m.Name == name })
	if i < 0 {
		return MetricDef{}, false
	}
	return Metrics[i], true
}

// MetricPoint is one or more values of one metric at one event.
type MetricPoint struct {
	Name string
	Unit MetricUnit
	// Dimensions name the point's dimension value (only the metric's own
	// Dimension); nil for a metric without one.
	Dimensions map[string]string
	Values     []float64
}

func point(name string, dims map[string]string, values ...float64) MetricPoint {
	def, _ := MetricNamed(name)
	return MetricPoint{Name: name, Unit: def.Unit, Dimensions: dims, Values: values}
}

// DeliveryMetrics are the metrics of one delivery d of g, from its
// candidates as Deliver saw them. published is how many feedback events
// reached the queue; the rest of d.Feedback (when stored) are unsent.
func DeliveryMetrics(g Generation, cands []Candidate, d Delivery, stored, published int) []MetricPoint {
	var generated, passed, failed, rounds int
	reasons := map[string]int{}
	for _, c := range cands {
		rounds = max(rounds, c.Round)
		switch {
		case c.Status == CandidateFiltered || c.Status == CandidateFailed:
			failed++
			reasons[failureCode(c.FailureReason, string(c.Status))]++
		case c.Verdict != nil:
			generated++
			if c.Verdict.Passed {
				passed++
				continue
			}
			failed++
			for _, r := range c.Verdict.Reasons {
				reasons[r]++
			}
		case c.ObjectKey != "":
			generated++ // stored, never judged
		}
	}
	scores := make([]float64, 0, len(d.Selected))
	for _, c := range d.Selected {
		if c.Verdict != nil {
			scores = append(scores, c.Verdict.Score)
		}
	}
	points := []MetricPoint{
		point(MetricGenerations, map[string]string{"Status": string(d.Status)}, 1),
		point(MetricImagesGenerated, nil, float64(generated)),
		point(MetricImagesPassed, nil, float64(passed)),
		point(MetricImagesFailed, nil, float64(failed)),
		point(MetricImagesDelivered, nil, float64(len(d.Selected))),
		point(MetricCostUSD, nil, d.CostUSD),
		point(MetricRounds, nil, float64(max(rounds, g.Rounds))),
		point(MetricFeedbackPublished, nil, float64(published)),
		point(MetricFeedbackUnsent, nil, float64(max(0, stored-published))),
	}
	if !g.CreatedAt.IsZero() && !d.CompletedAt.IsZero() {
		points = append(points, point(MetricTimeToDelivery, nil, d.CompletedAt.Sub(g.CreatedAt).Seconds()))
	}
	if len(scores) > 0 {
		points = append(points, point(MetricDeliveredScore, nil, scores...))
	}
	codes := make([]string, 0, len(reasons))
	for r := range reasons {
		codes = append(codes, r)
	}
	slices.Sort(codes)
	for _, r := range codes {
		points = append(points, point(MetricFailuresByReason, map[string]string{"Reason": r}, float64(reasons[r])))
	}
	return points
}

// FailedGenerationMetrics are the metrics of n generations failed without
// a delivery.
func FailedGenerationMetrics(n int) []MetricPoint {
	return []MetricPoint{point(MetricGenerations, map[string]string{"Status": string(StatusFailed)}, float64(n))}
}

// failureCode is the code of a stored failure reason ("filtered: nsfw" →
// "filtered"): a bounded set, fit to be a metric's dimension value, where
// the detail after the colon is not. fallback is used for an empty reason.
func failureCode(reason, fallback string) string {
	code, _, _ := strings.Cut(reason, ":")
	if code = strings.TrimSpace(code); code == "" {
		return fallback
	}
	return code
}
