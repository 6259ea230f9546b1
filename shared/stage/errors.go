package stage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/designerbff/pipeline/shared/generation"
)

// The error types below are the names Step Functions sees: Lambda reports the
// Go type name of the outermost returned error, and the state machine's Retry
// and Catch match on it. Renaming one is a change to
// statemachine/generation.asl.json too (errors_test.go pins the names).

// InvalidRequest: the generation or the stage input is invalid; never retried.
type InvalidRequest struct{ Message string }

func (e *InvalidRequest) Error() string { return e.Message }

// NotFound: the generation or candidate does not exist; never retried.
type NotFound struct{ Message string }

func (e *NotFound) Error() string { return e.Message }

// Conflict: the generation's state does not allow the stage (e.g. it is final).
type Conflict struct{ Message string }

func (e *Conflict) Error() string { return e.Message }

// ProviderThrottled: the provider said 429; retried with backoff by the state machine.
type ProviderThrottled struct {
	Message    string
	RetryAfter time.Duration
}

func (e *ProviderThrottled) Error() string { return e.Message }

// ProviderUnavailable: the provider failed transiently (5xx, timeout); retried.
type ProviderUnavailable struct{ Message string }

func (e *ProviderUnavailable) Error() string { return e.Message }

// DependencyUnavailable: Postgres or the object store failed transiently; retried.
type DependencyUnavailable struct{ Message string }

func (e *DependencyUnavailable) Error() string { return e.Message }

// InternalError: anything else; not retried, caught.
type InternalError struct{ Message string }

func (e *InternalError) Error() string { return e.Message }

// named converts an error from the domain or an adapter into one of the named
// types above, keeping its message. nil stays nil.
func named(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if pe, ok := generation.AsProviderError(err); ok {
		switch pe.Kind {
		case generation.ProviderThrottled:
			return &ProviderThrottled{Message: msg, RetryAfter: pe.RetryAfter}
		case generation.ProviderUnavailable:
			return &ProviderUnavailable{Message: msg}
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &DependencyUnavailable{Message: msg}
	}
	switch generation.ErrorCode(err) {
	case generation.EINVALID, generation.ETOOLARGE, generation.EUNSUPPORTED:
		return &InvalidRequest{Message: generation.ErrorMessage(err)}
	case generation.ENOTFOUND:
		return &NotFound{Message: msg}
	case generation.ECONFLICT:
		return &Conflict{Message: msg}
	case generation.EUNAVAILABLE:
		return &DependencyUnavailable{Message: msg}
	}
	return &InternalError{Message: msg}
}

func invalid(format string, args ...any) error {
	return &InvalidRequest{Message: fmt.Sprintf(format, args...)}
}
