package stack

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/designerbff/pipeline/infra/local/sfnlocal"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/sfn"
	"github.com/designerbff/pipeline/shared/stage"
)

// executionEnded hands an execution that ended in an error to the
// executionstatus function, in the shape EventBridge gives it in AWS
// ("Step Functions Execution Status Change"), through Lambda's JSON round
// trip: the same handler settles the generation (restart or finalise).
func (s *Stack) executionEnded(ctx context.Context, name string, err error) {
	var ee *sfnlocal.ExecutionError
	if !errors.As(err, &ee) {
		return // not the execution's own failure (e.g. the local queue's)
	}
	status := generation.ExecutionFailed
	if ee.Name == sfnlocal.ErrTimeout {
		status = generation.ExecutionTimedOut
	}
	ev, mErr := ExecutionStatusEvent(name, status, ee.Name, ee.Cause, time.Now())
	if mErr != nil {
		s.logger.Error("execution status event", "execution", name, "error", mErr)
		return
	}
	h, err := s.System.Handler("executionstatus")
	if err != nil {
		s.logger.Error("settle execution", "execution", name, "error", err)
		return
	}
	out, err := sfnlocal.LambdaInvoker(h)(ctx, ev)
	s.logger.Info("execution settled", "execution", name, "settlement", string(out))
	if err != nil {
		s.logger.Error("settle execution", "execution", name, "error", err)
	}
}

// ExecutionStatusEvent is the EventBridge event Step Functions emits when
// execution `name` of the generation state machine ends with status.
func ExecutionStatusEvent(name string, status generation.ExecutionStatus, errName, cause string, at time.Time) ([]byte, error) {
	arn := sfn.ExecutionARN(stateMachineARN, name)
	detail, err := json.Marshal(stage.ExecutionStatusDetail{
		ExecutionARN: arn, StateMachineARN: stateMachineARN, Name: name, Status: string(status),
		Error: &errName, Cause: &cause,
	})
	if err != nil {
		return nil, err
	}
	return json.Marshal(events.EventBridgeEvent{
		Version: "0", ID: generation.NewID(), DetailType: "Step Functions Execution Status Change",
		Source: "aws.states", AccountID: "000000000000", Time: at.UTC(), Region: "local",
		Resources: []string{arn}, Detail: detail,
	})
}

// Resume starts an execution for every generation that is not final: after
// a restart of the local stack nothing else would run them. Re-running a
// generation's state machine is safe, since every stage is idempotent
// (planned rounds are kept, outcomes and verdicts are returned as stored).
// It returns the generations it started.
func (s *Stack) Resume(ctx context.Context) ([]string, error) {
	ids, err := s.Pipeline.Unfinished(ctx)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if _, err := s.Starter.Start(ctx, id); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// Maintenance are the background jobs of a long-running local stack
// (`make serve`); a zero interval turns one off.
type Maintenance struct {
	// StallTimeout finalises a generation with no progress for this long
	// (GENERATION_STALL_TIMEOUT), checked every StallTimeout/4.
	StallTimeout time.Duration
	// Recalibrate runs Recalibrate at this interval (RECALIBRATE_INTERVAL),
	// as the EventBridge schedule does in AWS.
	Recalibrate time.Duration
	// Webhooks sends the completion notifications that are due (retries,
	// and generations finalised outside Deliver) at this interval; the
	// recalibrate schedule does it in AWS. Nothing when webhooks are off.
	Webhooks time.Duration
}

// every runs job every interval until the stack closes.
func (s *Stack) every(interval time.Duration, name string, job func(ctx context.Context) error) {
	if interval <= 0 {
		return
	}
	s.jobs.Add(1)
	go func() {
		defer s.jobs.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-s.jobsCtx.Done():
				return
			case <-t.C:
				if err := job(s.jobsCtx); err != nil && s.jobsCtx.Err() == nil {
					s.logger.Warn(name, "error", err)
				}
			}
		}
	}()
}

func (s *Stack) startMaintenance(m Maintenance) {
	s.every(m.StallTimeout/4, "sweep stalled generations", func(ctx context.Context) error {
		ids, err := s.Pipeline.SweepStalled(ctx, m.StallTimeout)
		if len(ids) > 0 {
			s.logger.Warn("finalised stalled generations", "generations", ids, "idle", m.StallTimeout)
		}
		return err
	})
	s.every(m.Recalibrate, "recalibrate", func(ctx context.Context) error {
		_, err := s.Pipeline.Recalibrate(ctx)
		return err
	})
	if hooks, err := s.System.Webhooks(); err == nil && hooks != nil {
		s.every(m.Webhooks, "send webhooks", func(ctx context.Context) error {
			_, err := hooks.RunDue(ctx, time.Now(), "")
			return err
		})
	}
}
