package httpapi

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/designerbff/pipeline/shared/generation"
)

// errorBody is every error response: {"error": {"code", "message", "field"}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// statuses maps a domain error code onto its HTTP status; any other code
// (EINTERNAL, an uncoded error) is a 500.
var statuses = map[string]int{
	generation.EINVALID:      http.StatusBadRequest,
	generation.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	generation.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	generation.EUNAUTHORIZED: http.StatusUnauthorized,
	generation.ENOTFOUND:     http.StatusNotFound,
	generation.ECONFLICT:     http.StatusConflict,
	generation.EUNAVAILABLE:  http.StatusServiceUnavailable,
	generation.ELIMITED:      http.StatusTooManyRequests,
}

func statusOf(code string) int {
	if status, ok := statuses[code]; ok {
		return status
	}
	return http.StatusInternalServerError
}

// writeError answers with the coded error. Uncoded and internal errors are
// logged and hidden behind a generic message; a limit (429) says when to
// retry in Retry-After.
func (s *Service) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := generation.ErrorCode(err)
	status := statusOf(code)
	detail := errorDetail{Code: code, Message: generation.ErrorMessage(err)}
	var e *generation.Error
	if errors.As(err, &e) {
		detail.Field = e.Field
	}
	if status == http.StatusTooManyRequests {
		// Whole seconds, at least one: a client must not retry at once.
		secs := max(1, int64(math.Ceil(generation.RetryAfter(err).Seconds())))
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	if status != http.StatusInternalServerError && generation.Internal(detail.Message) {
		// A coded error whose text carries SQL, driver or network detail:
		// the code stays, the text goes to the log.
		s.logger().WarnContext(r.Context(), "error detail withheld", "method", r.Method, "path", r.URL.Path, "error", err)
		detail.Message = "the request could not be completed"
	}
	if status == http.StatusInternalServerError {
		s.logger().ErrorContext(r.Context(), "request failed",
			"method", r.Method, "path", r.URL.Path, "error", err)
		detail = errorDetail{Code: generation.EINTERNAL, Message: "internal error"}
	}
	writeJSON(w, status, errorBody{Error: detail})
}

// writeJSON writes v as the response body. An encoding failure can only be a
// bug in our own types or a gone client, so it is not reported further.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
