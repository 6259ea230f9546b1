package generation

import (
	"slices"
	"time"
)

// MonitoringSections are the operator's monitoring sections, in the order
// the dashboard and `go run ./infra/local monitor` show them. Each is a few
// views or functions of the database's monitoring schema
// (migrations/015_create_monitoring.sql).
var MonitoringSections = []string{"summary", "alerts", "quality", "cost", "learning", "discard", "performance"}

// IsMonitoringSection reports whether name is one of MonitoringSections.
func IsMonitoringSection(name string) bool { return slices.Contains(MonitoringSections, name) }

// MonitoringSection is one section's tables, as the database computed them.
type MonitoringSection struct {
	Name   string            `json:"section"`
	At     time.Time         `json:"at"`
	Tables []MonitoringTable `json:"tables"`
}

// MonitoringTable is one view's rows. Values are JSON-ready: numbers
// (float64 or int64), strings (dates as YYYY-MM-DD, times RFC 3339), bools,
// string lists or nil.
type MonitoringTable struct {
	Name    string   `json:"name"`  // the view or function, e.g. quality_daily
	Title   string   `json:"title"` // what it shows, for people
	Columns []string `json:"columns"`
	Rows    [][]any  `json:"rows"`
}

// MonitoringQuery holds the thresholds some monitoring views take.
type MonitoringQuery struct {
	// MaxCostPerImageUSD is the alert threshold of the cost per delivered
	// image (MONITORING_MAX_COST_PER_IMAGE_USD).
	MaxCostPerImageUSD float64
	// StuckAfter is how long an unfinished generation may go without
	// progress before it is stuck (GENERATION_STALL_TIMEOUT).
	StuckAfter time.Duration
	// MinScore is the pass threshold (VALIDATION_MIN_SCORE); a mean
	// delivered score below it alerts.
	MinScore float64
}

// ReviewItem is one image in the operators' review queue: it passed within
// the flag band of the threshold, or a user rated it 1 or 2, and no
// operator has reviewed it yet.
type ReviewItem struct {
	CandidateID  string    `json:"imageId"`
	GenerationID string    `json:"generationId"`
	Provider     string    `json:"provider"`
	Model        string    `json:"model"`
	Status       string    `json:"status"`
	Score        *float64  `json:"score"`
	ObjectKey    string    `json:"-"`
	URL          string    `json:"url,omitempty"`
	Modifiers    []string  `json:"modifiers"`
	Why          string    `json:"why"`
	CreatedAt    time.Time `json:"createdAt"`
}
