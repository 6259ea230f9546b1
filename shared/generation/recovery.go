package generation

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Codes of the user-facing reasons stored on a generation that its
// execution, not a stage, ended: "<code>: <message>", never the raw error.
const (
	ReasonTimedOut        = "timed_out"
	ReasonAborted         = "aborted"
	ReasonExecutionFailed = "execution_failed"
	ReasonUnavailable     = "unavailable"
	ReasonStalled         = "stalled"
)

var endReasons = map[string]string{
	ReasonTimedOut:        "the generation did not finish within its time limit",
	ReasonAborted:         "the generation was stopped before it finished",
	ReasonExecutionFailed: "the generation stopped on an unexpected error",
	ReasonUnavailable:     "a service the generation needs stayed unavailable; please try again",
	ReasonStalled:         "the generation made no progress for too long",
}

// EndReason is the stored reason for code: "code: message".
func EndReason(code string) string { return code + ": " + endReasons[code] }

// MaxExecutionAttempts bounds the executions of one generation: a transient
// failure restarts it, a third one finalises it.
const MaxExecutionAttempts = 3

// ExecutionStatus is how an execution ended without finishing its
// generation (Step Functions' FAILED, TIMED_OUT, ABORTED).
type ExecutionStatus string

const (
	ExecutionFailed   ExecutionStatus = "FAILED"
	ExecutionTimedOut ExecutionStatus = "TIMED_OUT"
	ExecutionAborted  ExecutionStatus = "ABORTED"
)

// ExecutionEnd is one ended execution of a generation.
type ExecutionEnd struct {
	GenerationID string
	Attempt      int // which execution of the generation (1: the first)
	Status       ExecutionStatus
	// Transient: the execution failed on an error that a later attempt may
	// not meet (a dependency that stayed unavailable past the retries).
	Transient bool
}

// Settlement is what SettleExecution did.
type Settlement struct {
	Action  string `json:"action"`            // none (already final), restarted, finalised
	Attempt int    `json:"attempt,omitempty"` // the restarted attempt
	Reason  string `json:"reason,omitempty"`  // the stored reason when finalised
}

// SettleExecution leaves no generation stranded by its execution ending
// early: a final generation is left as it is (Deliver or MarkFailed got
// there first, or this ran before); a transient failure starts the next
// attempt while attempts remain; anything else finalises the generation
// as failed with a user-facing reason. Re-running it for the same end does
// the same thing once (restarts are named by attempt).
func (p *Pipeline) SettleExecution(ctx context.Context, end ExecutionEnd) (Settlement, error) {
	g, err := p.Store.Generation(ctx, end.GenerationID)
	if err != nil {
		return Settlement{}, fmt.Errorf("settle execution: %w", err)
	}
	if g.Status.Final() {
		return Settlement{Action: "none"}, nil
	}
	code := ReasonExecutionFailed
	switch {
	case end.Status == ExecutionTimedOut:
		code = ReasonTimedOut
	case end.Status == ExecutionAborted:
		code = ReasonAborted
	case end.Transient && p.Restarter != nil && end.Attempt < MaxExecutionAttempts:
		next := max(end.Attempt, 1) + 1
		if _, err := p.Restarter.Restart(ctx, g.ID, next); err != nil {
			if ErrorCode(err) == EUNAVAILABLE {
				return Settlement{}, fmt.Errorf("settle execution: restart %s: %w", g.ID, err) // the event is retried
			}
			return p.finalise(ctx, g.ID, ReasonExecutionFailed)
		}
		return Settlement{Action: "restarted", Attempt: next}, nil
	case end.Transient:
		code = ReasonUnavailable
	}
	return p.finalise(ctx, g.ID, code)
}

func (p *Pipeline) finalise(ctx context.Context, generationID, code string) (Settlement, error) {
	reason := EndReason(code)
	if err := p.Store.MarkGenerationFailed(ctx, generationID, reason, p.now()); err != nil {
		return Settlement{}, fmt.Errorf("finalise %s: %w", generationID, err)
	}
	if p.Metrics != nil { // SettleExecution found it not final
		p.Metrics.Record(ctx, FailedGenerationMetrics(1))
	}
	return Settlement{Action: "finalised", Reason: reason}, nil
}

// Unfinished returns the generations that are not final, for a restarted
// local stack to resume (re-running a generation's state machine is safe:
// every stage is idempotent).
func (p *Pipeline) Unfinished(ctx context.Context) ([]string, error) {
	ids, err := p.Store.UnfinishedGenerations(ctx)
	if err != nil {
		return nil, fmt.Errorf("unfinished generations: %w", err)
	}
	return ids, nil
}

// SweepStalled finalises every unfinished generation that made no progress
// (no change to it or its candidates) for idle, and returns their ids.
func (p *Pipeline) SweepStalled(ctx context.Context, idle time.Duration) ([]string, error) {
	now := p.now()
	ids, err := p.Store.FailStalled(ctx, now.Add(-idle), EndReason(ReasonStalled), now)
	if err != nil {
		return nil, fmt.Errorf("sweep stalled generations: %w", err)
	}
	if p.Metrics != nil && len(ids) > 0 { // only the ones this sweep failed
		p.Metrics.Record(ctx, FailedGenerationMetrics(len(ids)))
	}
	return ids, nil
}

// ExecutionName names attempt n of a generation's execution: the generation
// id for the first (what the API starts), "<id>-r<n>" for a restart, since
// Step Functions keeps an ended execution's name for 90 days.
func ExecutionName(generationID string, attempt int) string {
	if attempt <= 1 {
		return generationID
	}
	return generationID + "-r" + strconv.Itoa(attempt)
}

// ParseExecutionName is ExecutionName's inverse.
func ParseExecutionName(name string) (generationID string, attempt int, ok bool) {
	if len(name) < 36 || !IsUUID(name[:36]) {
		return "", 0, false
	}
	id, rest := name[:36], name[36:]
	if rest == "" {
		return id, 1, true
	}
	n, err := strconv.Atoi(strings.TrimPrefix(rest, "-r"))
	if !strings.HasPrefix(rest, "-r") || err != nil || n < 2 {
		return "", 0, false
	}
	return id, n, true
}
