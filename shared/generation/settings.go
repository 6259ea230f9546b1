package generation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strings"
)

// Limits of a request's settings (DESIGN §5).
const (
	MinCount             = 1
	MaxCount             = 100
	MaxBufferPercent     = 200
	MinTargetConfidence  = 0.5
	MaxTargetConfidence  = 0.999
	DefaultMaxRounds     = 3
	MaxMaxRounds         = 10
	DefaultImageSide     = 512
	MinImageSide         = 64
	MaxImageSide         = 2048
	MaxPromptLength      = 2000
	DefaultProvider      = "procedural"
	defaultPrompt        = "studio product photo of the garment in the reference image"
	bufferPercentAutoStr = "auto"
)

// BufferPercent is either a fixed percentage (0–200) or "auto". The zero value
// is "auto". Zero percent is a real choice, never coerced to a default.
type BufferPercent struct {
	Auto    bool
	Percent float64
}

// UnmarshalJSON accepts a number or the string "auto".
func (b *BufferPercent) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		if s != bufferPercentAutoStr {
			return FieldError("bufferPercent", "must be a number from 0 to %d or \"auto\"", MaxBufferPercent)
		}
		*b = BufferPercent{Auto: true}
		return nil
	}
	var f float64
	if err := json.Unmarshal(data, &f); err != nil {
		return FieldError("bufferPercent", "must be a number from 0 to %d or \"auto\"", MaxBufferPercent)
	}
	*b = BufferPercent{Percent: f}
	return nil
}

// MarshalJSON writes "auto" or the number.
func (b BufferPercent) MarshalJSON() ([]byte, error) {
	if b.Auto {
		return json.Marshal(bufferPercentAutoStr)
	}
	return json.Marshal(b.Percent)
}

// Settings are a request's options, validated and with defaults applied by
// ParseSettings. Optional booleans are pointers only while decoding.
type Settings struct {
	Count            int           `json:"count"`
	BufferPercent    BufferPercent `json:"bufferPercent"`
	AutoValidate     bool          `json:"autoValidate"`
	UseRLHFLearning  bool          `json:"useRLHFLearning"`
	TargetConfidence float64       `json:"targetConfidence"`
	Provider         string        `json:"provider"`
	Model            string        `json:"model,omitempty"`
	MaxRounds        int           `json:"maxRounds"`
	MaxCostUSD       float64       `json:"maxCostUsd,omitempty"`
	MaxImages        int           `json:"maxImages,omitempty"`
	Strict           bool          `json:"strict"`
	Prompt           string        `json:"prompt"`
	NegativePrompt   string        `json:"negativePrompt,omitempty"`
	Width            int           `json:"width"`
	Height           int           `json:"height"`
	// WebhookURL, when set, receives a signed POST when the generation is
	// final (shared/webhook). Its shape is checked here; the deployment's
	// host allow-list (WEBHOOK_ALLOWED_HOSTS) by app.Service.
	WebhookURL string `json:"webhookUrl,omitempty"`
}

// rawSettings mirrors Settings with pointers so that absent fields get defaults.
type rawSettings struct {
	Count            *json.RawMessage `json:"count"`
	BufferPercent    *BufferPercent   `json:"bufferPercent"`
	AutoValidate     *bool            `json:"autoValidate"`
	UseRLHFLearning  *bool            `json:"useRLHFLearning"`
	TargetConfidence *float64         `json:"targetConfidence"`
	Provider         *string          `json:"provider"`
	Model            *string          `json:"model"`
	MaxRounds        *int             `json:"maxRounds"`
	MaxCostUSD       *float64         `json:"maxCostUsd"`
	MaxImages        *int             `json:"maxImages"`
	Strict           *bool            `json:"strict"`
	Prompt           *string          `json:"prompt"`
	NegativePrompt   *string          `json:"negativePrompt"`
	Width            *int             `json:"width"`
	Height           *int             `json:"height"`
	WebhookURL       *string          `json:"webhookUrl"`
}

// Defaults are the environment-driven defaults that settings fall back on,
// and the providers and models a request may name.
type Defaults struct {
	TargetConfidence float64 // BUFFER_TARGET_CONFIDENCE
	Provider         string  // PROVIDER
	// Models are the models a request may name, by enabled provider
	// (system.AllowedModels: the catalog's current models, the configured
	// one and ALLOWED_MODELS). A provider without an entry is refused, and
	// so is a model not in its list. Nil checks only their shape: settings
	// re-read from storage (Validate) were checked when they were written.
	Models map[string][]string
}

// settingsJSON decodes a settings object; its messages are the API's.
var settingsJSON = StrictJSON{
	Field:           "settings",
	NotObject:       "must be a JSON object",
	Malformed:       "is not valid JSON",
	MalformedDetail: true,
	Unknown:         "is not a known setting",
}

// ParseSettings decodes a settings JSON object strictly: unknown fields, wrong
// types and out-of-range values are EINVALID errors naming the field. An empty
// input means "all defaults" except count, which is required.
func ParseSettings(data []byte, d Defaults) (Settings, error) {
	var raw rawSettings
	if len(bytes.TrimSpace(data)) > 0 {
		if err := settingsJSON.Decode(data, &raw); err != nil {
			return Settings{}, err
		}
	}
	s, err := raw.resolve(d)
	if err != nil {
		return Settings{}, err
	}
	return s, s.checkText(d)
}

// checkText bounds and types the free strings: prompt and negative prompt
// hold only SafeText, the provider is an enabled one (or a plain name when
// d.Models is nil), the model an allowed one of it (see Defaults.Models).
func (s Settings) checkText(d Defaults) error {
	for _, f := range []struct{ name, value string }{{"prompt", s.Prompt}, {"negativePrompt", s.NegativePrompt}} {
		if err := checkText(f.name, f.value, MaxPromptLength); err != nil {
			return err
		}
	}
	if err := checkProvider(s.Provider, d.Models); err != nil {
		return err
	}
	return checkModel(s.Provider, s.Model, d.Models)
}

func (r rawSettings) resolve(d Defaults) (Settings, error) {
	s := Settings{
		BufferPercent:    BufferPercent{Auto: true},
		AutoValidate:     true,
		UseRLHFLearning:  true,
		TargetConfidence: d.TargetConfidence,
		Provider:         d.Provider,
		MaxRounds:        DefaultMaxRounds,
		Prompt:           defaultPrompt,
		Width:            DefaultImageSide,
		Height:           DefaultImageSide,
	}
	if s.TargetConfidence == 0 {
		s.TargetConfidence = 0.95
	}
	if s.Provider == "" {
		s.Provider = DefaultProvider
	}
	if r.Count == nil {
		return Settings{}, FieldError("count", "is required (%d-%d)", MinCount, MaxCount)
	}
	var count float64
	if err := json.Unmarshal(*r.Count, &count); err != nil || count != math.Trunc(count) {
		return Settings{}, FieldError("count", "must be a whole number from %d to %d", MinCount, MaxCount)
	}
	if count < MinCount || count > MaxCount {
		return Settings{}, FieldError("count", "must be from %d to %d, got %v", MinCount, MaxCount, count)
	}
	s.Count = int(count)
	if r.BufferPercent != nil {
		s.BufferPercent = *r.BufferPercent
		if !s.BufferPercent.Auto && (s.BufferPercent.Percent < 0 || s.BufferPercent.Percent > MaxBufferPercent || math.IsNaN(s.BufferPercent.Percent)) {
			return Settings{}, FieldError("bufferPercent", "must be from 0 to %d or \"auto\", got %v", MaxBufferPercent, s.BufferPercent.Percent)
		}
	}
	setBool(&s.AutoValidate, r.AutoValidate)
	setBool(&s.UseRLHFLearning, r.UseRLHFLearning)
	setBool(&s.Strict, r.Strict)
	if r.TargetConfidence != nil {
		s.TargetConfidence = *r.TargetConfidence
		if s.TargetConfidence < MinTargetConfidence || s.TargetConfidence > MaxTargetConfidence {
			return Settings{}, FieldError("targetConfidence", "must be from %v to %v", MinTargetConfidence, MaxTargetConfidence)
		}
	}
	if r.Provider != nil && *r.Provider != "" {
		s.Provider = strings.ToLower(strings.TrimSpace(*r.Provider))
	}
	if r.Model != nil {
		s.Model = strings.TrimSpace(*r.Model)
	}
	if r.MaxRounds != nil {
		s.MaxRounds = *r.MaxRounds
		if s.MaxRounds < 1 || s.MaxRounds > MaxMaxRounds {
			return Settings{}, FieldError("maxRounds", "must be from 1 to %d", MaxMaxRounds)
		}
	}
	if r.MaxCostUSD != nil {
		s.MaxCostUSD = *r.MaxCostUSD
		if s.MaxCostUSD <= 0 {
			return Settings{}, FieldError("maxCostUsd", "must be greater than 0")
		}
	}
	if r.MaxImages != nil {
		s.MaxImages = *r.MaxImages
		// Refused, not capped: a request must not believe it may spend
		// more than any generation will (see GenerationBound).
		if s.MaxImages < s.Count || s.MaxImages > GenerationBound(s.Count) {
			return Settings{}, FieldError("maxImages", "must be at least count (%d) and at most %d (%d × count, never more than %d)",
				s.Count, GenerationBound(s.Count), GenerationImagesPerCount, MaxGenerationImages)
		}
	}
	if r.Prompt != nil {
		s.Prompt = strings.TrimSpace(*r.Prompt)
		if s.Prompt == "" || len(s.Prompt) > MaxPromptLength {
			return Settings{}, FieldError("prompt", "must be 1 to %d characters", MaxPromptLength)
		}
	}
	if r.NegativePrompt != nil {
		s.NegativePrompt = strings.TrimSpace(*r.NegativePrompt)
		if len(s.NegativePrompt) > MaxPromptLength {
			return Settings{}, FieldError("negativePrompt", "must be at most %d characters", MaxPromptLength)
		}
	}
	for _, side := range []struct {
		name string
		dst  *int
		src  *int
	}{{"width", &s.Width, r.Width}, {"height", &s.Height, r.Height}} {
		if side.src == nil {
			continue
		}
		if *side.src < MinImageSide || *side.src > MaxImageSide {
			return Settings{}, FieldError(side.name, "must be from %d to %d pixels", MinImageSide, MaxImageSide)
		}
		*side.dst = *side.src
	}
	if r.WebhookURL != nil {
		s.WebhookURL = strings.TrimSpace(*r.WebhookURL)
		if err := CheckWebhookURL(s.WebhookURL); err != nil {
			return Settings{}, err
		}
	}
	return s, nil
}

// WebhookHostAllowed reports whether a webhook URL's host (with its port,
// if any) is one of allowed, where "example.com" (or "example.com:8443")
// is that host exactly and ".example.com" any host under it on the default
// port. The same rule as the provider adapters' URL checks.
func WebhookHostAllowed(rawURL string, allowed []string) bool {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return false
	}
	host := strings.ToLower(u.Host)
	for _, h := range allowed {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		if host == h || strings.HasPrefix(h, ".") && strings.HasSuffix(host, h) && u.Port() == "" {
			return true
		}
	}
	return false
}

// MaxWebhookURLLength bounds settings.webhookUrl.
const MaxWebhookURLLength = 2000

// CheckWebhookURL checks the shape of a webhook URL: an absolute https URL
// with a host, without credentials or fragment, at most
// MaxWebhookURLLength characters. Which hosts a deployment calls is the
// application's check (WEBHOOK_ALLOWED_HOSTS), and where the connection
// goes the sender's (public addresses only).
func CheckWebhookURL(raw string) error {
	if raw == "" || len(raw) > MaxWebhookURLLength {
		return FieldError("webhookUrl", "must be an https URL of 1 to %d characters", MaxWebhookURLLength)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "" || u.Hostname() == "":
		return FieldError("webhookUrl", "must be an absolute https URL")
	case u.Scheme != "https":
		return FieldError("webhookUrl", "must use https, not %s", u.Scheme)
	case u.User != nil:
		return FieldError("webhookUrl", "must not carry credentials")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return FieldError("webhookUrl", "must not have a fragment")
	}
	return nil
}

func setBool(dst *bool, src *bool) {
	if src != nil {
		*dst = *src
	}
}

// Validate re-checks settings loaded from storage (every writer enforces it).
func (s Settings) Validate() error {
	raw, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode settings: %w", err)
	}
	_, err = ParseSettings(raw, Defaults{TargetConfidence: s.TargetConfidence, Provider: s.Provider})
	return err
}
