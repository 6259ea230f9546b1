package netfail_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"syscall"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/netfail"
)

// answered builds an error the way the AWS SDK returns a service's answer:
// an operation error around the SDK's response error around the API error.
func answered(status int, code string, fault smithy.ErrorFault) error {
	api := &smithy.GenericAPIError{Code: code, Message: "m", Fault: fault}
	resp := &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: api}}
	return &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject", Err: resp}
}

func TestTransient(t *testing.T) {
	throttling := map[string]bool{"SlowDown": true}
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"5xx", answered(503, "ServiceUnavailable", smithy.FaultUnknown), true},
		{"429", answered(429, "TooManyRequests", smithy.FaultClient), true},
		{"throttling code on a 400", answered(400, "SlowDown", smithy.FaultClient), true},
		{"server fault on a 400", answered(400, "InternalFailure", smithy.FaultServer), true},
		{"access denied", answered(403, "AccessDenied", smithy.FaultClient), false},
		{"no such bucket", answered(404, "NoSuchBucket", smithy.FaultClient), false},
		{"refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{"cut mid-body", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"deadline", fmt.Errorf("send: %w", context.DeadlineExceeded), true},
		{"cancelled by the caller", context.Canceled, false},
		{"anything else", errors.New("serialization failed"), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, netfail.Transient(tt.err, throttling))
		})
	}
}

func TestAnswerOf(t *testing.T) {
	a := netfail.AnswerOf(answered(403, "AccessDenied", smithy.FaultClient))
	require.Equal(t, netfail.Answer{Status: 403, Code: "AccessDenied"}, a)
	require.Equal(t, netfail.Answer{}, netfail.AnswerOf(syscall.ECONNRESET))
}
