package system

import (
	"errors"
	"fmt"
	"time"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/stage"
	"github.com/designerbff/pipeline/statemachine"
)

// Function is one Lambda function: its folder under functions/ (and
// events/), its logical id in template.yaml, and its handler over a System.
type Function struct {
	Name      string // functions/<Name>, events/<Name>
	LogicalID string // template.yaml; the state machine's substitution is <LogicalID>Arn
	Handler   func(*System) (any, error)
}

// Functions are every Lambda function, in pipeline order. A function's
// main.go is `system.Lambda("<Name>")`; the local stack resolves the state
// machine's Tasks through the same table.
var Functions = []Function{
	{"api", "ApiFunction", func(s *System) (any, error) {
		if s.Starter == nil {
			return nil, errors.New("STATE_MACHINE_ARN is not set: the API starts the state machine")
		}
		if s.GenerationIDSecret == "" {
			// The development default would make ids derivable from an Idempotency-Key.
			return nil, errors.New(GenerationIDSecretEnv + " is not set: the API keys generation ids with it")
		}
		return s.API(LambdaAPI).HandleAPIGateway, nil
	}},
	{"plan", "PlanFunction", stageHandler(func(s *System) any { return stage.Plan{Pipeline: s.Pipeline}.Handle })},
	{"generate", "GenerateFunction", stageHandler(func(s *System) any { return stage.Generate{Pipeline: s.Pipeline}.Handle })},
	{"validate", "ValidateFunction", stageHandler(func(s *System) any { return stage.Validate{Pipeline: s.Pipeline}.Handle })},
	{"select", "SelectFunction", stageHandler(func(s *System) any { return stage.Select{Pipeline: s.Pipeline}.Handle })},
	{"deliver", "DeliverFunction", deliverHandler},
	{"markfailed", "MarkFailedFunction", stageHandler(func(s *System) any { return stage.MarkFailed{Pipeline: s.Pipeline, Logger: s.Logger}.Handle })},
	{"learner", "LearnerFunction", stageHandler(func(s *System) any { return s.Learner().Handle })},
	{"recalibrate", "RecalibrateFunction", recalibrateHandler},
	// EventBridge: an execution that FAILED, TIMED_OUT or was ABORTED.
	{"executionstatus", "ExecutionStatusFunction", stageHandler(func(s *System) any { return stage.ExecutionStatus{Pipeline: s.Pipeline}.Handle })},
}

// deliverHandler is Deliver with (webhooks on) the first attempt of the
// generation's completion notification.
func deliverHandler(s *System) (any, error) {
	n, err := s.notifier()
	return stage.Deliver{Pipeline: s.Pipeline, Logger: s.Logger, Notifier: n}.Handle, err
}

// recalibrateHandler is Recalibrate with (webhooks on) every due
// notification after it.
func recalibrateHandler(s *System) (any, error) {
	n, err := s.notifier()
	return stage.Recalibrate{Pipeline: s.Pipeline, SweepIdle: s.sweepIdle(), Notifier: n, Logger: s.Logger}.Handle, err
}

// notifier is Webhooks as the stages' port: nil (not a nil pointer in an
// interface) when webhooks are off.
func (s *System) notifier() (generation.Notifier, error) {
	hooks, err := s.Webhooks()
	if err != nil || hooks == nil {
		return nil, err
	}
	return hooks, nil
}

func stageHandler(h func(*System) any) func(*System) (any, error) {
	return func(s *System) (any, error) { return h(s), nil }
}

// FunctionNamed returns the function whose folder is name.
func FunctionNamed(name string) (Function, error) {
	for _, f := range Functions {
		if f.Name == name {
			return f, nil
		}
	}
	return Function{}, fmt.Errorf("no function %q", name)
}

// Handler is the handler of the function named name, over s.
func (s *System) Handler(name string) (any, error) {
	f, err := FunctionNamed(name)
	if err != nil {
		return nil, err
	}
	return f.Handler(s)
}

// sweepIdle is how long a generation may show no progress before the
// scheduled recalibration finalises it: GENERATION_STALL_TIMEOUT, but never
// less than the definition's own execution timeout plus a margin, so that
// no live execution is swept from under itself (a timed-out one reaches the
// executionstatus function first).
func (s *System) sweepIdle() time.Duration {
	return max(s.Config.StallTimeout, statemachine.ExecutionTimeout()+5*time.Minute)
}
