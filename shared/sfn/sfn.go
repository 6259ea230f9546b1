// Package sfn adapts AWS Step Functions: it starts the generation state
// machine, one execution per generation.
package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/designerbff/pipeline/shared/generation"
)

// API is the part of the Step Functions client the starter uses.
type API interface {
	StartExecution(ctx context.Context, in *awssfn.StartExecutionInput, optFns ...func(*awssfn.Options)) (*awssfn.StartExecutionOutput, error)
}

// Starter starts one execution per generation.
type Starter struct {
	Client          API
	StateMachineARN string
}

var _ generation.Starter = (*Starter)(nil)

// ExecutionInput is the state machine's input: ids only.
func ExecutionInput(generationID string) []byte {
	b, _ := json.Marshal(map[string]any{"generationId": generationID, "round": 1}) // a map of string and int always encodes
	return b
}

// Start names the execution after the generation: Step Functions treats a
// second StartExecution with the same name and input as the same execution,
// so a retried request never runs a generation twice.
func (s *Starter) Start(ctx context.Context, generationID string) (string, error) {
	out, err := s.Client.StartExecution(ctx, &awssfn.StartExecutionInput{
		StateMachineArn: aws.String(s.StateMachineARN),
		Name:            aws.String(generationID),
		Input:           aws.String(string(ExecutionInput(generationID))),
	})
	var exists *types.ExecutionAlreadyExists
	switch {
	case errors.As(err, &exists):
		return ExecutionARN(s.StateMachineARN, generationID), nil
	case err != nil:
		return "", generation.Errorf(generation.EUNAVAILABLE, "start execution: %v", err)
	}
	return aws.ToString(out.ExecutionArn), nil
}

// ExecutionARN derives an execution's ARN from its state machine's ARN.
func ExecutionARN(stateMachineARN, name string) string {
	return strings.Replace(stateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + name
}

// String describes the starter for logs.
func (s *Starter) String() string { return fmt.Sprintf("stepfunctions(%s)", s.StateMachineARN) }
