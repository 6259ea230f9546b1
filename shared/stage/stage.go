package stage

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/designerbff/pipeline/shared/generation"
)

// Plan sizes a round and writes its candidates.
type Plan struct{ Pipeline *generation.Pipeline }

// Handle is the Plan state's Lambda handler.
func (h Plan) Handle(ctx context.Context, in RoundInput) (PlanOutput, error) {
	if err := requireID("generationId", in.GenerationID); err != nil {
		return PlanOutput{}, err
	}
	if in.Round == 0 {
		in.Round = 1
	}
	plan, cands, err := h.Pipeline.PlanRound(ctx, in.GenerationID, in.Round)
	if err != nil {
		return PlanOutput{}, named(err)
	}
	out := PlanOutput{GenerationID: in.GenerationID, Round: in.Round, Needed: plan.Needed, Bounded: plan.Bounded, CandidateIDs: make([]string, len(cands))}
	for i, c := range cands {
		out.CandidateIDs[i] = c.ID
	}
	return out, nil
}

// Generate makes and stores one candidate's image.
type Generate struct{ Pipeline *generation.Pipeline }

// Handle is the GenerateImage state's Lambda handler.
func (h Generate) Handle(ctx context.Context, in CandidateInput) (GenerateOutput, error) {
	c, err := call(ctx, "candidateId", in.CandidateID, h.Pipeline.Generate)
	if err != nil {
		return GenerateOutput{}, err
	}
	stored := c.Status == generation.CandidateStored || c.Status == generation.CandidateValidated ||
		c.Status == generation.CandidateSelected || c.Status == generation.CandidateDiscarded
	return GenerateOutput{GenerationID: c.GenerationID, CandidateID: c.ID, Stored: stored, Status: string(c.Status), Reason: c.FailureReason}, nil
}

// Validate judges one stored candidate.
type Validate struct{ Pipeline *generation.Pipeline }

// Handle is the ValidateImage state's Lambda handler.
func (h Validate) Handle(ctx context.Context, in CandidateInput) (ValidateOutput, error) {
	c, err := call(ctx, "candidateId", in.CandidateID, h.Pipeline.Validate)
	if err != nil {
		return ValidateOutput{}, err
	}
	return ValidateOutput{GenerationID: c.GenerationID, CandidateID: c.ID, Score: c.Verdict.Score, Passed: c.Verdict.Passed, Reasons: c.Verdict.Reasons}, nil
}

// Select tallies a round and decides on a top-up.
type Select struct{ Pipeline *generation.Pipeline }

// Handle is the Select state's Lambda handler.
func (h Select) Handle(ctx context.Context, in RoundInput) (SelectOutput, error) {
	s, err := call(ctx, "generationId", in.GenerationID, func(ctx context.Context, id string) (generation.Selection, error) {
		return h.Pipeline.SelectRound(ctx, id, max(in.Round, 1))
	})
	if err != nil {
		return SelectOutput{}, err
	}
	return SelectOutput{GenerationID: in.GenerationID, Round: s.Round, Passed: s.Passed, Shortfall: s.Shortfall, TopUp: s.TopUp, NextRound: s.NextRound, Reason: s.Reason}, nil
}

// Deliver finishes a generation and publishes its feedback.
type Deliver struct {
	Pipeline *generation.Pipeline
	Logger   *slog.Logger
	// Notifier, when set (webhooks on), makes the first attempt of the
	// completion notification the delivery's transaction enqueued.
	Notifier generation.Notifier
}

// Handle is the Deliver state's Lambda handler. Once the delivery is
// committed the execution succeeds: a feedback queue that refused the
// events is logged, never an error (the stored rows are the outbox).
func (h Deliver) Handle(ctx context.Context, in DeliverInput) (DeliverOutput, error) {
	d, err := call(ctx, "generationId", in.GenerationID, h.Pipeline.Deliver)
	if err != nil {
		return DeliverOutput{}, err
	}
	if d.PublishErr != nil {
		logger(h.Logger).WarnContext(ctx, "feedback not published; the stored rows are folded later",
			"generation", in.GenerationID, "events", len(d.Feedback), "error", d.PublishErr)
	}
	notify(ctx, h.Logger, h.Notifier, in.GenerationID)
	return DeliverOutput{GenerationID: in.GenerationID, Status: string(d.Status), Requested: d.Requested, Delivered: len(d.Selected), Reason: d.Reason}, nil
}

// MarkFailed records a caught error on a candidate (inside the Map) or on the
// generation (top level).
type MarkFailed struct {
	Pipeline *generation.Pipeline
	Logger   *slog.Logger
}

// Handle is the MarkCandidateFailed and MarkFailed states' Lambda handler.
// Whatever reaches it is no verdict on the prompt (the provider's and the
// validator's verdicts are recorded by Generate and Validate), so a
// candidate becomes errored. What is stored is a code and a message for the
// user; the error's detail goes to the log with the ids.
func (h MarkFailed) Handle(ctx context.Context, in MarkFailedInput) (MarkFailedOutput, error) {
	if err := requireID("generationId", in.GenerationID); err != nil {
		return MarkFailedOutput{}, err
	}
	if in.CandidateID != "" {
		if err := requireID("candidateId", in.CandidateID); err != nil {
			return MarkFailedOutput{}, err
		}
	}
	f := describeFailure(in.Error)
	reason := f.Code + ": " + f.Message
	logger(h.Logger).WarnContext(ctx, "stage failed", "generation", in.GenerationID, "candidate", in.CandidateID,
		"error", f.Name, "cause", f.Detail, "code", f.Code)
	if in.CandidateID != "" {
		out := MarkFailedOutput{GenerationID: in.GenerationID, CandidateID: in.CandidateID, Status: string(generation.CandidateErrored), Reason: reason}
		return out, named(h.Pipeline.MarkCandidateErrored(ctx, in.CandidateID, reason))
	}
	out := MarkFailedOutput{GenerationID: in.GenerationID, Status: string(generation.StatusFailed), Reason: reason}
	return out, named(h.Pipeline.MarkGenerationFailed(ctx, in.GenerationID, reason))
}

func logger(l *slog.Logger) *slog.Logger {
	if l != nil {
		return l
	}
	return slog.Default()
}

// Learner stores SQS feedback batches and folds them into statistics.
type Learner struct {
	Pipeline *generation.Pipeline
	Logger   *slog.Logger
}

// Handle is the learner's SQS handler. It reports only the messages that
// failed (malformed, or not stored), so SQS redelivers just those and a
// poison message reaches the DLQ after maxReceiveCount.
func (h Learner) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	var batch []generation.FeedbackEvent
	var ids []string
	for _, m := range ev.Records {
		fe, err := decodeFeedback(m.Body)
		if err != nil {
			h.logger().WarnContext(ctx, "malformed feedback message", "messageId", m.MessageId, "error", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			continue
		}
		batch = append(batch, fe)
		ids = append(ids, m.MessageId)
	}
	if len(batch) == 0 {
		return resp, nil
	}
	inserted, failed := h.Pipeline.Learn(ctx, batch)
	for i, err := range failed {
		if err != nil {
			h.logger().ErrorContext(ctx, "store feedback", "messageId", ids[i], "eventId", batch[i].EventID, "error", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: ids[i]})
		}
	}
	folded, err := h.Pipeline.Fold(ctx)
	if err != nil {
		// The rows are stored and stay unfolded; the next batch folds them.
		h.logger().WarnContext(ctx, "fold feedback", "error", err)
	}
	h.logger().InfoContext(ctx, "feedback stored", "received", len(ev.Records), "inserted", inserted, "folded", folded, "failed", len(resp.BatchItemFailures))
	return resp, nil
}

func (h Learner) logger() *slog.Logger { return logger(h.Logger) }

// decodeFeedback accepts unknown fields on purpose: a publisher deployed
// before the learner may add one, and that must not send every message to
// the DLQ. What the learner needs is checked by Validate.
func decodeFeedback(body string) (generation.FeedbackEvent, error) {
	var fe generation.FeedbackEvent
	if err := json.Unmarshal([]byte(body), &fe); err != nil {
		return fe, fmt.Errorf("decode feedback: %w", err)
	}
	return fe, fe.Validate()
}

// Recalibrate recomputes provider statistics on the EventBridge schedule,
// and finalises generations that stalled.
type Recalibrate struct {
	Pipeline *generation.Pipeline
	// SweepIdle, when positive, finalises every unfinished generation with
	// no progress for this long: in AWS the one kind nothing else settles is
	// a generation whose StartExecution failed and whose client never
	// retried (no execution, so no status-change event).
	SweepIdle time.Duration
	// Notifier, when set (webhooks on), sends every due notification after
	// the recalibration: retries, and those of generations finalised by
	// MarkFailed, the execution-status handler or the sweep.
	Notifier generation.Notifier
	Logger   *slog.Logger
}

// notify sends the due notifications (generationID's only, when set) and
// logs what it could not: a notification that does not go now is retried
// by the schedule, and is never a stage's failure.
func notify(ctx context.Context, log *slog.Logger, n generation.Notifier, generationID string) {
	if n == nil {
		return
	}
	if _, err := n.RunDue(ctx, time.Now(), generationID); err != nil {
		logger(log).WarnContext(ctx, "send webhooks", "generation", generationID, "error", err)
	}
}

// Handle is the recalibrate function's handler; the event's content is not
// needed (the schedule only says "now").
func (h Recalibrate) Handle(ctx context.Context, _ events.EventBridgeEvent) (RecalibrateOutput, error) {
	defer notify(ctx, h.Logger, h.Notifier, "")
	stats, err := h.Pipeline.Recalibrate(ctx)
	if err != nil {
		return RecalibrateOutput{}, named(err)
	}
	out := RecalibrateOutput{Providers: len(stats)}
	for _, s := range stats {
		out.Samples += s.Passes + s.Failures
	}
	if h.SweepIdle > 0 {
		swept, err := h.Pipeline.SweepStalled(ctx, h.SweepIdle)
		if err != nil {
			return out, named(err)
		}
		out.Swept = len(swept)
	}
	return out, nil
}

// call is what the stages taking one id share: it refuses an id (the
// input's field) that is not a UUID, runs op on it and names op's error.
func call[T any](ctx context.Context, field, id string, op func(context.Context, string) (T, error)) (T, error) {
	var zero T
	if err := requireID(field, id); err != nil {
		return zero, err
	}
	v, err := op(ctx, id)
	if err != nil {
		return zero, named(err)
	}
	return v, nil
}

func requireID(field, id string) error {
	if !generation.IsUUID(id) {
		return invalid("%s must be a UUID, got %q", field, id)
	}
	return nil
}
