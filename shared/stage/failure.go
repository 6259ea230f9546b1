package stage

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// failure is a caught error as the MarkFailed states store it: a code and a
// message fit for the user, and the detail for the log.
type failure struct {
	Name    string // the Step Functions error name
	Code    string // stored before the message: "<code>: <message>"
	Message string // what a user may read
	Detail  string // the error's own message (the Lambda errorMessage), for the log only
}

// lambdaPayload is the error payload of a Lambda function. Step Functions
// puts the whole payload, as JSON text, into a Catch's Cause.
type lambdaPayload struct {
	ErrorMessage string `json:"errorMessage"`
	ErrorType    string `json:"errorType"`
}

// userFailures are the stored code and message of the caught errors a user
// can act on (by trying again, or not).
var userFailures = map[string]struct{ code, message string }{
	"DependencyUnavailable": {"dependency_unavailable", "a service the pipeline depends on was unavailable for too long; please try again"},
	"ProviderThrottled":     {"provider_throttled", "the image provider kept limiting requests; please try again later"},
	"ProviderUnavailable":   {"provider_unavailable", "the image provider was unavailable; please try again later"},
	"NotFound":              {"not_found", "the generation or one of its images no longer exists"},
	"Conflict":              {"conflict", "the generation changed while it was being processed"},
	"States.Timeout":        {"timeout", "the generation took too long and was stopped"},
}

// describeFailure reads a Catch's error object. Cause is either AWS's JSON
// payload {"errorMessage", "errorType", "stackTrace"?} (a Task's Lambda
// failed) or plain text (States.Timeout, States.Runtime, an engine that
// passes errorMessage alone).
func describeFailure(e StateError) failure {
	f := failure{Name: e.Error, Detail: strings.TrimSpace(e.Cause)}
	if f.Name == "" {
		f.Name = "Unknown"
	}
	var p lambdaPayload
	if strings.HasPrefix(f.Detail, "{") && json.Unmarshal([]byte(f.Detail), &p) == nil && (p.ErrorMessage != "" || p.ErrorType != "") {
		f.Detail = p.ErrorMessage
	}
	switch known, ok := userFailures[f.Name]; {
	case f.Name == "InvalidRequest":
		// Its message is the domain's user-safe message (named keeps only that).
		f.Code, f.Message = "invalid_request", oneLine(f.Detail, 300)
	case ok:
		f.Code, f.Message = known.code, known.message
	default: // InternalError, Lambda.*, States.*, a panic: ours to fix
		f.Code, f.Message = "internal_error", "something went wrong on our side; please try again"
	}
	if f.Message == "" {
		f.Message = f.Code
	}
	return f
}

// oneLine trims s to one line of at most n bytes, cut at a rune boundary.
func oneLine(s string, n int) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
