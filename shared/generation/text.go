package generation

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of the free strings a request carries. They are counted in
// characters (runes); a character is at most 4 bytes, so the largest value
// stays far below Postgres's btree row limit (2704 bytes) and SQS's 256 KiB.
const (
	MaxModelLength = 100
)

// SafeText reports why s cannot be stored, queued and logged as it is, or ""
// when it can: it must be valid UTF-8 and hold only characters SQS accepts
// (#x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF) that
// are not control characters (Postgres text refuses NUL; a carriage return
// or an escape sequence forges log lines), except tab and newline.
func SafeText(s string) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n':
		case r == 0:
			return "must not contain NUL characters"
		case unicode.IsControl(r):
			return "must not contain control characters other than tab and newline"
		case r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE, r == 0xFFFF:
			return "must not contain non-characters (U+FFFE, U+FFFF, surrogates)"
		}
	}
	return ""
}

// checkText is a FieldError when value is longer than maxChars characters
// or not SafeText.
func checkText(field, value string, maxChars int) error {
	if n := utf8.RuneCountInString(value); n > maxChars {
		return FieldError(field, "must be at most %d characters, got %d", maxChars, n)
	}
	if why := SafeText(value); why != "" {
		return FieldError(field, "%s", why)
	}
	return nil
}

// modelID is the shape of every model id the catalog knows ("gpt-image-2",
// "imagen-4.0-generate-001", Replicate's "owner/name"): each part starts
// with a letter or digit, so no part is "." or "..", and nothing needs
// escaping in a URL path.
var modelID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$`)

// ValidModelID reports whether model has the shape of a model id: at most
// MaxModelLength characters of letters, digits, '.', '_' and '-', with at
// most one '/' between two parts (Replicate's owner/name), each part
// starting with a letter or digit.
func ValidModelID(model string) bool {
	return len(model) <= MaxModelLength && modelID.MatchString(model)
}

// checkModel checks a requested model: its shape, then, unless allowed is
// nil, that it is one of the provider's allowed models (see Defaults.Models).
func checkModel(provider, model string, allowed map[string][]string) error {
	if model == "" {
		return nil
	}
	if !ValidModelID(model) {
		return FieldError("model", "must be a model id of at most %d letters, digits, '.', '_' or '-' (owner/name for Replicate)", MaxModelLength)
	}
	if allowed == nil || provider == AutoProvider {
		return nil
	}
	if !slices.Contains(allowed[provider], model) {
		return FieldError("model", "%q is not an allowed model of %s (allowed: %s)", model, provider, strings.Join(allowed[provider], ", "))
	}
	return nil
}

// providerName is the shape of a provider name.
var providerName = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)

// checkProvider checks a requested provider: "auto", or one with an entry
// in allowed (any plain name when allowed is nil).
func checkProvider(provider string, allowed map[string][]string) error {
	if provider == AutoProvider {
		return nil
	}
	if allowed == nil {
		if !providerName.MatchString(provider) {
			return FieldError("provider", "must be a provider name")
		}
		return nil
	}
	if _, ok := allowed[provider]; !ok {
		names := slices.Sorted(maps.Keys(allowed))
		return FieldError("provider", "must be %q or an enabled provider (%s)", AutoProvider, strings.Join(names, ", "))
	}
	return nil
}
