package stage

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/aws/aws-lambda-go/events"
	"github.com/designerbff/pipeline/shared/generation"
)

// ExecutionStatusDetail is the detail of a "Step Functions Execution Status
// Change" event (the fields this handler reads).
type ExecutionStatusDetail struct {
	ExecutionARN    string  `json:"executionArn"`
	StateMachineARN string  `json:"stateMachineArn"`
	Name            string  `json:"name"`
	Status          string  `json:"status"`
	Input           string  `json:"input"`
	Error           *string `json:"error"`
	Cause           *string `json:"cause"`
}

// transientErrors are the error names that the definition retries
// (shared/stage/errors.go and Lambda's service errors): an execution that
// failed on one of them met an outage longer than its retries, which a later
// attempt may not meet.
var transientErrors = []string{
	"DependencyUnavailable", "ProviderThrottled", "ProviderUnavailable",
	"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException",
}

// ExecutionStatus settles a generation whose execution ended without
// delivering it, on the state machine's EventBridge status-change events.
type ExecutionStatus struct{ Pipeline *generation.Pipeline }

// Handle is the executionstatus function's handler.
func (h ExecutionStatus) Handle(ctx context.Context, ev events.EventBridgeEvent) (generation.Settlement, error) {
	var d ExecutionStatusDetail
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return generation.Settlement{}, invalid("execution status detail: %v", err)
	}
	id, attempt, ok := generation.ParseExecutionName(d.Name)
	if !ok {
		return generation.Settlement{}, invalid("execution name %q is not a generation id", d.Name)
	}
	end := generation.ExecutionEnd{GenerationID: id, Attempt: attempt, Status: generation.ExecutionStatus(d.Status)}
	switch end.Status {
	case generation.ExecutionFailed:
		end.Transient = d.Error != nil && slices.Contains(transientErrors, *d.Error)
	case generation.ExecutionTimedOut, generation.ExecutionAborted:
	default:
		// The rule sends only the three; any other status has nothing to settle.
		return generation.Settlement{Action: "none"}, nil
	}
	s, err := h.Pipeline.SettleExecution(ctx, end)
	return s, named(err)
}
