package generation

import (
	"regexp"
	"strings"
)

// internalText matches what only an internal error's text holds: SQL and
// driver words, network errors, IP addresses and URLs. A user never sees
// such text, in an API answer or a stored reason; the detail is logged.
var internalText = regexp.MustCompile(`(?i)sqlstate|\bpgx\b|pgconn|postgres|\bsql\b|duplicate key|violates|syntax error|` +
	`relation "|dial (tcp|udp)|connection refused|connection reset|broken pipe|no such host|i/o timeout|` +
	`\b\d{1,3}(\.\d{1,3}){3}\b|://|\[::1\]|localhost`)

// Internal reports whether s carries internal detail (see internalText).
func Internal(s string) bool { return internalText.MatchString(s) }

// withheld replaces the detail of a reason that carries internal text.
const withheld = "the detail is withheld; it was logged"

// SafeReason returns a stored reason ("code: message") fit for a user:
// itself, or its code alone with a note when its text carries internal
// detail (which the caller logs).
func SafeReason(reason string) string {
	if !Internal(reason) {
		return reason
	}
	code, _, _ := strings.Cut(reason, ":")
	code = strings.TrimSpace(code)
	if code == "" || Internal(code) || strings.ContainsAny(code, " \t") {
		code = "internal_error"
	}
	return code + ": " + withheld
}
