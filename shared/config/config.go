// Package config reads the environment once, applies documented defaults and
// reports every bad variable in one error.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/designerbff/pipeline/shared/buffer"
	"github.com/designerbff/pipeline/shared/generation"
)

// Config is every setting the functions read from the environment. README's
// configuration table documents each one.
type Config struct {
	DatabaseURL string // DATABASE_URL

	DefaultBufferPercent   float64 // DEFAULT_BUFFER_PERCENT (20)
	BufferTargetConfidence float64 // BUFFER_TARGET_CONFIDENCE (0.95)
	BufferMinSamples       int     // BUFFER_MIN_SAMPLES (10): history needed before it outweighs the prior
	BufferColdStartWeight  float64 // BUFFER_COLD_START_WEIGHT (10): outcomes DEFAULT_BUFFER_PERCENT is worth below BUFFER_MIN_SAMPLES; 0: plan it as it is
	BufferHalfLife         float64 // BUFFER_HALF_LIFE (150): outcomes after which one weighs half in the planner's posterior; 0: no discount
	PassRatePrior          float64 // PASS_RATE_PRIOR (0.5, Jeffreys'): a of the Beta(a, a) prior of every pass rate, planner and learner
	ValidationMinScore     float64 // VALIDATION_MIN_SCORE (70)
	ValidationFlagMargin   float64 // VALIDATION_AUTO_FLAG_THRESHOLD (5): passed but within this of the threshold → flagged
	FeedbackEnabled        bool    // RLHF_FEEDBACK_ENABLED (true)
	LearningRate           float64 // RLHF_LEARNING_RATE (0.1): per-fold discount of old attribute counts
	ExploreBudget          float64 // RLHF_EXPLORATION_BUDGET (0.01): expected extra images a round may spend exploring, per image to deliver

	Provider  string // PROVIDER (procedural): the provider when settings name none, or "auto"
	QuirkSeed int64  // QUIRK_SEED (42): the procedural provider's defect table
	// Providers are the enabled providers (PROVIDERS, default procedural):
	// the ones requests may name and "auto" chooses from. PROVIDER is always
	// one of them. API keys are not read here: only the generate function
	// gets them (see system.Providers).
	Providers []string
	// Models are the hosted providers' models by provider (OPENAI_MODEL,
	// GEMINI_MODEL, STABILITY_MODEL, REPLICATE_MODEL); empty means the
	// catalog's current default.
	Models map[string]string
	// AllowedModels are models a request may name beyond the catalog's
	// current ones and the configured one (ALLOWED_MODELS: comma-separated
	// provider:model pairs, e.g. replicate:acme/flux-x), by provider.
	AllowedModels map[string][]string
	// ProviderLimits are the hosted providers' call budgets, shared by every
	// generation: <P>_MAX_CONCURRENT_CALLS and <P>_CALLS_PER_MINUTE for
	// OPENAI, GEMINI, STABILITY and REPLICATE (defaults in
	// DefaultProviderLimits), per PROVIDER_RATE_WINDOW (1m; tests shorten
	// the minute). The procedural provider has none.
	ProviderLimits map[string]generation.ProviderLimit
	// ProviderBudgetMaxWait (PROVIDER_BUDGET_MAX_WAIT, 20s) is the most a
	// Generate call waits for its budget or a Retry-After before answering
	// ProviderThrottled for the state machine to retry.
	ProviderBudgetMaxWait time.Duration

	// Limits are the per-user limits and the per-generation cost cap
	// (USER_MAX_CONCURRENT_GENERATIONS 5, USER_MAX_IMAGES_PER_DAY 1000,
	// GENERATION_MAX_COST_USD 5, USER_MAX_COST_USD_PER_DAY 25; 0: none).
	Limits generation.UserLimits
	// RatingsPerMinute bounds each user's ratings in any minute
	// (USER_MAX_RATINGS_PER_MINUTE, 30; 0: none).
	RatingsPerMinute int

	ObjectEndpoint   string        // R2_ENDPOINT: https://<account>.r2.cloudflarestorage.com
	ObjectBucket     string        // R2_BUCKET (designer-bff-images)
	ObjectAccessKey  string        // R2_ACCESS_KEY_ID
	ObjectSecretKey  string        // R2_SECRET_ACCESS_KEY
	ObjectPathStyle  bool          // R2_USE_PATH_STYLE (false)
	PresignExpiry    time.Duration // PRESIGN_EXPIRY (1h)
	FeedbackQueueURL string        // FEEDBACK_QUEUE_URL
	StateMachineARN  string        // STATE_MACHINE_ARN
	Port             int           // PORT (3000): make serve
	// StallTimeout: `make serve` finalises a generation whose rows did not
	// change for this long (GENERATION_STALL_TIMEOUT, 15m; local only: in
	// AWS the execution's own timeout reaches the executionstatus function).
	StallTimeout time.Duration
	// RecalibrateInterval: how often `make serve` recalibrates
	// (RECALIBRATE_INTERVAL, 15m: template.yaml's RecalibrateSchedule).
	RecalibrateInterval time.Duration
	LogLevel            string // LOG_LEVEL (info)

	// OperatorUserIDs may open /dashboard and /v1/monitoring locally
	// (OPERATOR_USER_IDS, comma-separated, default "operator"); the local
	// bearer identity is checked against them. In AWS the JWT's group
	// claims are checked against OperatorGroup instead.
	OperatorUserIDs []string
	// OperatorGroup is the JWT group or role that makes a caller an
	// operator in AWS (OPERATOR_GROUP, default "operators": a value of the
	// cognito:groups, groups or roles claim).
	OperatorGroup string
	// MonitoringMaxCostPerImageUSD is the alert threshold of the cost per
	// delivered image over 24 h (MONITORING_MAX_COST_PER_IMAGE_USD, 0.25).
	MonitoringMaxCostPerImageUSD float64
	// WebhookHosts are the hosts settings.webhookUrl may name
	// (WEBHOOK_ALLOWED_HOSTS, comma-separated "host", "host:port" or
	// ".domain"; empty: webhooks are off and a webhookUrl is refused).
	WebhookHosts []string
	// MetricsNamespace is the CloudWatch namespace of the functions'
	// embedded-metric-format lines (METRICS_NAMESPACE, DesignerBFF/Pipeline;
	// template.yaml sets DesignerBFF/<stack name>, which its dashboard and
	// alarms read).
	MetricsNamespace string
}

// Load reads the environment through getenv (os.Getenv in main, a map in tests).
func Load(getenv func(string) string) (Config, error) {
	r := reader{getenv: getenv}
	c := Config{
		DatabaseURL:            r.str("DATABASE_URL", ""),
		DefaultBufferPercent:   r.float("DEFAULT_BUFFER_PERCENT", 20, 0, 200),
		BufferTargetConfidence: r.float("BUFFER_TARGET_CONFIDENCE", 0.95, 0.5, 0.999),
		BufferMinSamples:       r.int("BUFFER_MIN_SAMPLES", 10, 0, 1_000_000),
		BufferColdStartWeight:  r.float("BUFFER_COLD_START_WEIGHT", buffer.DefaultColdStartWeight, 0, 1_000_000),
		BufferHalfLife:         r.float("BUFFER_HALF_LIFE", 150, 0, 1_000_000),
		PassRatePrior:          r.float("PASS_RATE_PRIOR", buffer.DefaultPriorCount, buffer.MinPriorCount, buffer.MaxPriorCount),
		ValidationMinScore:     r.float("VALIDATION_MIN_SCORE", 70, 0, 100),
		ValidationFlagMargin:   r.flagMargin("VALIDATION_AUTO_FLAG_THRESHOLD", 5),
		FeedbackEnabled:        r.bool("RLHF_FEEDBACK_ENABLED", true),
		LearningRate:           r.float("RLHF_LEARNING_RATE", 0.1, 0, 1),
		ExploreBudget:          r.float("RLHF_EXPLORATION_BUDGET", 0.01, 0, 10),
		Provider:               strings.ToLower(r.str("PROVIDER", "procedural")),
		QuirkSeed:              int64(r.int("QUIRK_SEED", 42, 0, 1<<62)),
		Providers:              r.providers("PROVIDERS", "procedural"),
		ObjectEndpoint:         r.str("R2_ENDPOINT", ""),
		ObjectBucket:           r.str("R2_BUCKET", "designer-bff-images"),
		ObjectAccessKey:        r.str("R2_ACCESS_KEY_ID", ""),
		ObjectSecretKey:        r.str("R2_SECRET_ACCESS_KEY", ""),
		ObjectPathStyle:        r.bool("R2_USE_PATH_STYLE", false),
		PresignExpiry:          r.duration("PRESIGN_EXPIRY", time.Hour, time.Second, 7*24*time.Hour),
		FeedbackQueueURL:       r.str("FEEDBACK_QUEUE_URL", ""),
		StateMachineARN:        r.str("STATE_MACHINE_ARN", ""),
		Port:                   r.int("PORT", 3000, 1, 65535),
		StallTimeout:           r.duration("GENERATION_STALL_TIMEOUT", 15*time.Minute, time.Second, 48*time.Hour),
		RecalibrateInterval:    r.duration("RECALIBRATE_INTERVAL", 15*time.Minute, time.Second, 24*time.Hour),
		LogLevel:               r.logLevel("LOG_LEVEL", "info"),
		WebhookHosts:           r.hosts("WEBHOOK_ALLOWED_HOSTS"),
		MetricsNamespace:       r.str("METRICS_NAMESPACE", "DesignerBFF/Pipeline"),
	}
	// CloudWatch reserves AWS/ and caps a namespace at 256 characters.
	if ns := c.MetricsNamespace; ns == "" || len(ns) > 256 || strings.HasPrefix(ns, "AWS/") {
		r.problems = append(r.problems, fmt.Sprintf("METRICS_NAMESPACE=%q must be 1 to 256 characters, not starting with AWS/", ns))
	}
	c.Limits = generation.UserLimits{
		MaxUnfinished:        r.int("USER_MAX_CONCURRENT_GENERATIONS", 5, 0, 10_000),
		MaxImagesPerDay:      r.int("USER_MAX_IMAGES_PER_DAY", 1000, 0, 10_000_000),
		MaxCostPerGeneration: r.float("GENERATION_MAX_COST_USD", 5, 0, 100_000),
		MaxCostPerDay:        r.float("USER_MAX_COST_USD_PER_DAY", 25, 0, 1_000_000),
	}
	c.RatingsPerMinute = r.int("USER_MAX_RATINGS_PER_MINUTE", 30, 0, 100_000)
	c.OperatorUserIDs = r.list("OPERATOR_USER_IDS", "operator")
	c.OperatorGroup = r.str("OPERATOR_GROUP", "operators")
	c.MonitoringMaxCostPerImageUSD = r.float("MONITORING_MAX_COST_PER_IMAGE_USD", 0.25, 0, 1000)
	c.Models = map[string]string{
		"openai":    r.str("OPENAI_MODEL", ""),
		"gemini":    r.str("GEMINI_MODEL", ""),
		"stability": r.str("STABILITY_MODEL", ""),
		"replicate": r.str("REPLICATE_MODEL", ""),
	}
	c.AllowedModels = r.allowedModels("ALLOWED_MODELS")
	for name, model := range c.Models {
		if model != "" && !generation.ValidModelID(model) {
			r.problems = append(r.problems, fmt.Sprintf("%s_MODEL=%q is not a model id", strings.ToUpper(name), model))
		}
	}
	window := r.duration("PROVIDER_RATE_WINDOW", time.Minute, 10*time.Millisecond, time.Hour)
	limit := func(concurrent, perMinute int) generation.ProviderLimit {
		return generation.ProviderLimit{Concurrent: concurrent, PerWindow: perMinute, Window: window}
	}
	d := DefaultProviderLimits
	c.ProviderLimits = map[string]generation.ProviderLimit{
		"openai": limit(r.int("OPENAI_MAX_CONCURRENT_CALLS", d["openai"].Concurrent, 1, 10_000),
			r.int("OPENAI_CALLS_PER_MINUTE", d["openai"].PerWindow, 1, 1_000_000)),
		"gemini": limit(r.int("GEMINI_MAX_CONCURRENT_CALLS", d["gemini"].Concurrent, 1, 10_000),
			r.int("GEMINI_CALLS_PER_MINUTE", d["gemini"].PerWindow, 1, 1_000_000)),
		"stability": limit(r.int("STABILITY_MAX_CONCURRENT_CALLS", d["stability"].Concurrent, 1, 10_000),
			r.int("STABILITY_CALLS_PER_MINUTE", d["stability"].PerWindow, 1, 1_000_000)),
		"replicate": limit(r.int("REPLICATE_MAX_CONCURRENT_CALLS", d["replicate"].Concurrent, 1, 10_000),
			r.int("REPLICATE_CALLS_PER_MINUTE", d["replicate"].PerWindow, 1, 1_000_000)),
	}
	c.ProviderBudgetMaxWait = r.duration("PROVIDER_BUDGET_MAX_WAIT", 20*time.Second, 0, 5*time.Minute)
	c.Providers = withProvider(c.Providers, c.Provider)
	if c.Provider != "auto" && !slices.Contains(KnownProviders, c.Provider) {
		r.problems = append(r.problems, fmt.Sprintf("PROVIDER=%q must be auto or one of %s", c.Provider, strings.Join(KnownProviders, ", ")))
	}
	return c, r.err()
}

// DefaultProviderLimits are the hosted providers' default budgets (calls in
// flight, calls per minute). Stability documents 150 requests per 10 s and
// Replicate 600 prediction creations per minute; OpenAI's and Google's
// image limits depend on the account's tier, so theirs are conservative
// starting points to raise to the tier.
var DefaultProviderLimits = map[string]generation.ProviderLimit{
	"openai":    {Concurrent: 4, PerWindow: 20},
	"gemini":    {Concurrent: 4, PerWindow: 20},
	"stability": {Concurrent: 10, PerWindow: 600},
	"replicate": {Concurrent: 10, PerWindow: 500},
}

// KnownProviders are the provider names PROVIDER and PROVIDERS accept.
var KnownProviders = []string{"procedural", "openai", "gemini", "stability", "replicate"}

// withProvider adds the default provider to the enabled ones.
func withProvider(enabled []string, provider string) []string {
	if provider == "auto" || slices.Contains(enabled, provider) {
		return enabled
	}
	return append(enabled, provider)
}

type reader struct {
	getenv   func(string) string
	problems []string
}

func (r *reader) err() error {
	if len(r.problems) == 0 {
		return nil
	}
	return errors.New("bad environment: " + strings.Join(r.problems, "; "))
}

func (r *reader) raw(name string) (string, bool) {
	v := strings.TrimSpace(r.getenv(name))
	return v, v != ""
}

func (r *reader) str(name, def string) string {
	if v, ok := r.raw(name); ok {
		return v
	}
	return def
}

// parsed reads name with parse. Unset is def; a value parse refuses is def
// plus a problem saying what the variable must be.
func parsed[T any](r *reader, name string, def T, must string, parse func(string) (T, bool)) T {
	v, ok := r.raw(name)
	if !ok {
		return def
	}
	x, ok := parse(v)
	if !ok {
		r.problems = append(r.problems, fmt.Sprintf("%s=%q must be %s", name, v, must))
		return def
	}
	return x
}

func (r *reader) float(name string, def, lo, hi float64) float64 {
	return parsed(r, name, def, fmt.Sprintf("a number from %v to %v", lo, hi), func(v string) (float64, bool) {
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil && f >= lo && f <= hi // NaN is never in range
	})
}

func (r *reader) int(name string, def, lo, hi int) int {
	return parsed(r, name, def, fmt.Sprintf("a whole number from %d to %d", lo, hi), func(v string) (int, bool) {
		i, err := strconv.Atoi(v)
		return i, err == nil && i >= lo && i <= hi
	})
}

func (r *reader) bool(name string, def bool) bool {
	return parsed(r, name, def, "true or false", func(v string) (bool, bool) {
		b, err := strconv.ParseBool(v)
		return b, err == nil
	})
}

// list reads a comma-separated list, trimming blanks and dropping empty
// items.
func (r *reader) list(name, def string) []string {
	var out []string
	for _, item := range strings.Split(r.str(name, def), ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func (r *reader) providers(name, def string) []string {
	v, ok := r.raw(name)
	if !ok {
		v = def
	}
	var out []string
	for _, p := range strings.Split(strings.ToLower(v), ",") {
		p = strings.TrimSpace(p)
		switch {
		case p == "" || slices.Contains(out, p):
		case !slices.Contains(KnownProviders, p):
			r.problems = append(r.problems, fmt.Sprintf("%s=%q: unknown provider %q (known: %s)", name, v, p, strings.Join(KnownProviders, ", ")))
		default:
			out = append(out, p)
		}
	}
	return out
}

// allowedModels reads provider:model pairs, each model of a known provider
// and with the shape of a model id.
func (r *reader) allowedModels(name string) map[string][]string {
	out := map[string][]string{}
	v, _ := r.raw(name)
	for _, pair := range strings.Split(v, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		provider, model, _ := strings.Cut(pair, ":")
		provider, model = strings.ToLower(strings.TrimSpace(provider)), strings.TrimSpace(model)
		if !slices.Contains(KnownProviders, provider) || !generation.ValidModelID(model) {
			r.problems = append(r.problems, fmt.Sprintf("%s: %q must be provider:model with a known provider (%s) and a model id of letters, digits, '.', '_', '-' (owner/name for replicate)",
				name, pair, strings.Join(KnownProviders, ", ")))
			continue
		}
		if !slices.Contains(out[provider], model) {
			out[provider] = append(out[provider], model)
		}
	}
	return out
}

// hosts reads a comma-separated list of host names ("example.com",
// "example.com:8443", ".example.com" for any host under it), lower-cased.
func (r *reader) hosts(name string) []string {
	v, _ := r.raw(name)
	var out []string
	for h := range strings.SplitSeq(v, ",") {
		h = strings.ToLower(strings.TrimSpace(h))
		switch {
		case h == "":
		case strings.ContainsAny(h, "/@ ?#") || strings.Trim(h, ".:") == "":
			r.problems = append(r.problems, fmt.Sprintf("%s: %q must be a host name (example.com, example.com:8443 or .example.com), not a URL", name, h))
		case !slices.Contains(out, h):
			out = append(out, h)
		}
	}
	return out
}

// flagMargin reads the band of points above VALIDATION_MIN_SCORE in which a
// passing image is flagged. The earlier JavaScript system documented
// VALIDATION_AUTO_FLAG_THRESHOLD=-0.5 on an outlier score in [-1, 1]; that
// scale has no counterpart in ours, so a negative value is refused with what
// the variable means here rather than guessed at.
func (r *reader) flagMargin(name string, def float64) float64 {
	if v, ok := r.raw(name); ok {
		if f, err := strconv.ParseFloat(v, 64); err == nil && f < 0 {
			r.problems = append(r.problems, fmt.Sprintf("%s=%q: a band of points (0 to 100) above VALIDATION_MIN_SCORE on the 0–100 validator score "+
				"within which a passing image is flagged, not the earlier system's outlier score in [-1, 1] (e.g. %v)", name, v, def))
			return def
		}
	}
	return r.float(name, def, 0, 100)
}

// logLevel reads a slog level name (debug, info, warn, error; any case).
func (r *reader) logLevel(name, def string) string {
	v := r.str(name, def)
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil {
		r.problems = append(r.problems, fmt.Sprintf("%s=%q must be debug, info, warn or error", name, v))
		return def
	}
	return v
}

func (r *reader) duration(name string, def, lo, hi time.Duration) time.Duration {
	return parsed(r, name, def, fmt.Sprintf("a duration from %v to %v", lo, hi), func(v string) (time.Duration, bool) {
		d, err := time.ParseDuration(v)
		return d, err == nil && d >= lo && d <= hi
	})
}
