package generation

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. Adapters map their own errors onto these; transports map them
// onto HTTP statuses or Step Functions error names.
const (
	EINVALID      = "invalid"      // the request or data is invalid (HTTP 400)
	ETOOLARGE     = "too_large"    // the body or image is too big (HTTP 413)
	EUNSUPPORTED  = "unsupported"  // wrong media type (HTTP 415)
	EUNAUTHORIZED = "unauthorized" // no identity (HTTP 401)
	ENOTFOUND     = "not_found"    // no such thing, or not yours (HTTP 404)
	ECONFLICT     = "conflict"     // state does not allow the operation (HTTP 409)
	EUNAVAILABLE  = "unavailable"  // a dependency is down; retrying may help (HTTP 503)
	ELIMITED      = "rate_limited" // a per-user limit is reached; retry after Error.RetryAfter (HTTP 429)
	EINTERNAL     = "internal"     // a bug or an unexpected failure (HTTP 500)
)

// Error is the one coded error of the domain. Message is safe to show a user;
// Field names the offending input when there is one.
type Error struct {
	Code    string
	Field   string
	Message string
	// RetryAfter is when an ELIMITED request may succeed again (0: unknown).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns a coded error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an EINVALID error naming the offending field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, or EINTERNAL.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-safe message of err, hiding internal details.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		if e.Field != "" {
			return e.Field + ": " + e.Message
		}
		return e.Message
	}
	return "internal error"
}

// RetryAfter returns the RetryAfter of the first *Error in err's chain.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
