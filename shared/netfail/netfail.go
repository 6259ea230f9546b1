// Package netfail tells a broken way to a service from the service's own
// answer, once for every adapter (Postgres, R2, SQS, Step Functions): a
// failure to reach or hear a service may pass if tried again; an answer
// stays the same. The AWS SDK's retryer makes this call internally but does
// not export it, and pgx's SafeToRetry covers only what it sent nothing for.
package netfail

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// ConnectionLost reports a failure of the connection rather than of the
// request: a timeout, a refused or reset connection (a syscall.Errno is a
// net.Error too), a connection closed before or while the answer came.
func ConnectionLost(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed)
}

// Answer is what an AWS-protocol service (S3, R2, SQS, Step Functions)
// answered: its HTTP status and error code, zero when it did not answer.
type Answer struct {
	Status int
	Code   string
	// ServerFault is the SDK's own reading of the error code as the
	// service's fault rather than the caller's.
	ServerFault bool
}

// AnswerOf reads the status and code the SDK kept in err.
func AnswerOf(err error) Answer {
	var a Answer
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		a.Code = apiErr.ErrorCode()
		a.ServerFault = apiErr.ErrorFault() == smithy.FaultServer
	}
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) {
		a.Status = respErr.HTTPStatusCode()
	}
	return a
}

// Transient reports an AWS-protocol call worth retrying later: the service
// failed on its side (5xx, a server fault), asked for a slower pace (429,
// 408 or one of throttlingCodes, the service's own names for it), or never
// answered because the connection was lost. Any other answer — access
// denied, no such bucket or queue, a malformed request — fails the same way
// again.
func Transient(err error, throttlingCodes map[string]bool) bool {
	a := AnswerOf(err)
	switch {
	case a.Status >= 500, a.Status == http.StatusTooManyRequests, a.Status == http.StatusRequestTimeout,
		a.ServerFault, throttlingCodes[a.Code]:
		return true
	case a.Status != 0:
		return false // the service answered, and said no
	}
	return ConnectionLost(err)
}
