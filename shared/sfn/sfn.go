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
	"github.com/designerbff/pipeline/shared/netfail"
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

var (
	_ generation.Starter   = (*Starter)(nil)
	_ generation.Restarter = (*Starter)(nil)
)

// ExecutionInput is the state machine's input: ids only.
func ExecutionInput(generationID string) []byte {
	b, _ := json.Marshal(map[string]any{"generationId": generationID, "round": 1}) // a map of string and int always encodes
	return b
}

// Start names the execution after the generation: Step Functions treats a
// second StartExecution with the same name and input as the same execution,
// so a retried request never runs a generation twice. ExecutionAlreadyExists
// (the name is taken, by a running or an ended execution) means it was
// started: that is success. Other errors are classified (see startError).
func (s *Starter) Start(ctx context.Context, generationID string) (string, error) {
	return s.start(ctx, generationID, 1)
}

// Restart starts attempt n (≥ 2) of a generation's execution, named
// generation.ExecutionName(id, n): a new name, since Step Functions keeps an
// ended execution's name. Restarting the same attempt twice starts it once.
func (s *Starter) Restart(ctx context.Context, generationID string, attempt int) (string, error) {
	return s.start(ctx, generationID, max(attempt, 2))
}

func (s *Starter) start(ctx context.Context, generationID string, attempt int) (string, error) {
	name := generation.ExecutionName(generationID, attempt)
	out, err := s.Client.StartExecution(ctx, &awssfn.StartExecutionInput{
		StateMachineArn: aws.String(s.StateMachineARN),
		Name:            aws.String(name),
		Input:           aws.String(string(ExecutionInput(generationID))),
	})
	var exists *types.ExecutionAlreadyExists
	switch {
	case errors.As(err, &exists):
		return ExecutionARN(s.StateMachineARN, name), nil
	case err != nil:
		return "", startError(err)
	}
	return aws.ToString(out.ExecutionArn), nil
}

// startError classifies a StartExecution failure. Throttling, 5xx, the
// running-executions limit, timeouts and network failures are EUNAVAILABLE
// (retry later); anything else the service refused (AccessDenied, a missing
// state machine, an invalid ARN: a deployment problem, not the caller's) is
// EINTERNAL, since retrying cannot help until the deployment changes. The
// message names only the service's error code, never its text or the ARN.
func startError(err error) error {
	a := netfail.AnswerOf(err)
	if a.Code == "" {
		// No answer from the service: a timeout, a refused connection, a
		// cancelled context.
		return fmt.Errorf("%w: %w", generation.Errorf(generation.EUNAVAILABLE, "start execution: Step Functions did not answer"), err)
	}
	var limit *types.ExecutionLimitExceeded
	if netfail.Transient(err, throttlingCodes) || errors.As(err, &limit) || strings.Contains(a.Code, "Throttl") {
		return fmt.Errorf("%w: %w", generation.Errorf(generation.EUNAVAILABLE, "start execution: Step Functions is unavailable (%s)", a.Code), err)
	}
	return fmt.Errorf("%w: %w", generation.Errorf(generation.EINTERNAL, "start execution: Step Functions refused it (%s)", a.Code), err)
}

// throttlingCodes are Step Functions' codes for "not now" besides the
// Throttling* family.
var throttlingCodes = map[string]bool{"RequestLimitExceeded": true, "ServiceUnavailable": true}

// ExecutionARN derives an execution's ARN from its state machine's ARN.
func ExecutionARN(stateMachineARN, name string) string {
	return strings.Replace(stateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + name
}

// String describes the starter for logs.
func (s *Starter) String() string { return fmt.Sprintf("stepfunctions(%s)", s.StateMachineARN) }
