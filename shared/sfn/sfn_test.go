package sfn_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/sfn"
	"github.com/stretchr/testify/require"
)

const machineARN = "arn:aws:states:eu-west-1:123456789012:stateMachine:generation"

// fakeStepFunctions speaks the Step Functions JSON protocol for StartExecution.
// It answers ExecutionAlreadyExists for any repeated name: the real service
// does that only when the input differs, so this is the stricter case.
func fakeStepFunctions(t *testing.T) (*httptest.Server, *[]map[string]string) {
	var mu sync.Mutex
	var calls []map[string]string
	seen := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// t.Errorf, not require: FailNow must not run on the server's goroutine.
		if target := r.Header.Get("X-Amz-Target"); target != "AWSStepFunctions.StartExecution" {
			t.Errorf("X-Amz-Target = %q", target)
			http.Error(w, "unexpected target", http.StatusBadRequest)
			return
		}
		var in map[string]string
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			t.Errorf("decode StartExecution body: %v", err)
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, in)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		if seen[in["name"]] {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"com.amazonaws.swf.service.v2.model#ExecutionAlreadyExists","message":"Execution Already Exists"}`))
			return
		}
		seen[in["name"]] = true
		_ = json.NewEncoder(w).Encode(map[string]any{"executionArn": sfn.ExecutionARN(in["stateMachineArn"], in["name"]), "startDate": 1.7e9})
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestStarterNamesExecutionAfterGeneration(t *testing.T) {
	t.Parallel()
	srv, calls := fakeStepFunctions(t)
	client := awssfn.New(awssfn.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("k", "s", ""),
	})
	s := &sfn.Starter{Client: client, StateMachineARN: machineARN}
	id := generation.NewID()

	arn, err := s.Start(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, "arn:aws:states:eu-west-1:123456789012:execution:generation:"+id, arn)

	again, err := s.Start(context.Background(), id)
	require.NoError(t, err, "a retried start is the same execution")
	require.Equal(t, arn, again)

	require.Len(t, *calls, 2)
	require.Equal(t, id, (*calls)[0]["name"])
	require.JSONEq(t, `{"generationId":"`+id+`","round":1}`, (*calls)[0]["input"])
}

// StartExecution's failures are classified: what may pass is EUNAVAILABLE
// (the API answers 503, the client retries), what the deployment must fix
// is EINTERNAL, and neither message carries the service's text.
func TestStarterClassifiesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		typ    string
		want   string
	}{
		{"throttled", 400, "ThrottlingException", generation.EUNAVAILABLE},
		{"too many running executions", 400, "ExecutionLimitExceeded", generation.EUNAVAILABLE},
		{"server error", 500, "InternalServerError", generation.EUNAVAILABLE},
		{"unavailable", 503, "ServiceUnavailable", generation.EUNAVAILABLE},
		{"access denied", 400, "AccessDeniedException", generation.EINTERNAL},
		{"no such state machine", 400, "StateMachineDoesNotExist", generation.EINTERNAL},
		{"invalid arn", 400, "InvalidArn", generation.EINTERNAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/x-amz-json-1.0")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(`{"__type":"` + tt.typ + `","message":"secret detail arn:aws:iam::123456789012:role/x"}`))
			}))
			t.Cleanup(srv.Close)
			_, err := newStarter(srv.URL).Start(context.Background(), generation.NewID())
			require.Equal(t, tt.want, generation.ErrorCode(err), "%v", err)
			require.NotContains(t, generation.ErrorMessage(err), "secret")
			require.Contains(t, generation.ErrorMessage(err), tt.typ)
		})
	}
	t.Run("no answer", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close() // connection refused
		_, err := newStarter(srv.URL).Start(context.Background(), generation.NewID())
		require.Equal(t, generation.EUNAVAILABLE, generation.ErrorCode(err), "%v", err)
	})
}

// A restart is a new execution, named "<generation id>-r<attempt>", and
// restarting the same attempt again is the same execution.
func TestStarterRestartNamesAttempt(t *testing.T) {
	t.Parallel()
	srv, calls := fakeStepFunctions(t)
	s := newStarter(srv.URL)
	id := generation.NewID()
	_, err := s.Start(context.Background(), id)
	require.NoError(t, err)
	arn, err := s.Restart(context.Background(), id, 2)
	require.NoError(t, err)
	require.Equal(t, "arn:aws:states:eu-west-1:123456789012:execution:generation:"+id+"-r2", arn)
	again, err := s.Restart(context.Background(), id, 2)
	require.NoError(t, err)
	require.Equal(t, arn, again)
	require.Len(t, *calls, 3)
	require.Equal(t, id+"-r2", (*calls)[1]["name"])
	require.JSONEq(t, `{"generationId":"`+id+`","round":1}`, (*calls)[1]["input"])
	gotID, attempt, ok := generation.ParseExecutionName(id + "-r2")
	require.True(t, ok)
	require.Equal(t, id, gotID)
	require.Equal(t, 2, attempt)
}

// newStarter is a starter against url that makes one attempt per call (the
// SDK's own retries would only slow the tests down).
func newStarter(url string) *sfn.Starter {
	client := awssfn.New(awssfn.Options{Region: "eu-west-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("k", "s", ""), RetryMaxAttempts: 1})
	return &sfn.Starter{Client: client, StateMachineARN: machineARN}
}
