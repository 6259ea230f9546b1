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
		require.Equal(t, "AWSStepFunctions.StartExecution", r.Header.Get("X-Amz-Target"))
		var in map[string]string
		require.NoError(t, json.NewDecoder(r.Body).Decode(&in))
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

func TestStarterReportsUnavailable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"StateMachineDoesNotExist","message":"no such machine"}`))
	}))
	t.Cleanup(srv.Close)
	client := awssfn.New(awssfn.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), Credentials: credentials.NewStaticCredentialsProvider("k", "s", "")})
	_, err := (&sfn.Starter{Client: client, StateMachineARN: machineARN}).Start(context.Background(), generation.NewID())
	require.Equal(t, generation.EUNAVAILABLE, generation.ErrorCode(err))
}
