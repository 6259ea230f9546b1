package generation

import (
	"context"
	"fmt"
	"log/slog"
	"mime"
	"strings"
	"time"
)

// Pipeline runs the stages' operations over the ports. Each method is
// idempotent on its key: a retried or re-run stage changes nothing twice.
type Pipeline struct {
	Store     Store
	Objects   ObjectStore
	Providers map[string]Provider
	Validator Validator
	Publisher Publisher
	Chooser   ModifierChooser
	Policy    PlanPolicy
	MinScore  float64 // VALIDATION_MIN_SCORE
	// FeedbackEnabled stores and publishes feedback on delivery
	// (RLHF_FEEDBACK_ENABLED).
	FeedbackEnabled bool
	// LearningRate discounts old attribute counts per fold (RLHF_LEARNING_RATE).
	LearningRate float64
	Now          func() time.Time
	// Restarter starts another execution of a generation whose execution
	// failed transiently (see SettleExecution). Nil: such a generation is
	// finalised instead.
	Restarter Restarter
	// Logger receives the detail of a reason withheld from users
	// (default slog.Default()).
	Logger *slog.Logger
	// Metrics receives each delivery's metrics (DeliveryMetrics) and each
	// generation failed without one (FailedGenerationMetrics). Nil: none
	// are recorded (the local stack, unless asked).
	Metrics MetricsRecorder
}

func (p *Pipeline) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.Default()
}

// safeReason is reason as a user may read it; withheld detail is logged
// with the id of what it is the reason of (key: "generation", "candidate").
func (p *Pipeline) safeReason(ctx context.Context, key, id, reason string) string {
	safe := SafeReason(reason)
	if safe != reason {
		p.logger().WarnContext(ctx, "reason withheld from the user", key, id, "reason", reason)
	}
	return safe
}

func (p *Pipeline) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// PlanRound sizes and writes round `round` and returns its candidates. An
// unknown provider or an invalid stored request fails before anything is
// written.
func (p *Pipeline) PlanRound(ctx context.Context, generationID string, round int) (RoundPlan, []Candidate, error) {
	g, err := p.Store.Generation(ctx, generationID)
	if err != nil {
		return RoundPlan{}, nil, fmt.Errorf("plan round %d: %w", round, err)
	}
	if g.Status.Final() {
		return RoundPlan{}, nil, Errorf(ECONFLICT, "generation %s is already %s", g.ID, g.Status)
	}
	if err := g.Settings.Validate(); err != nil {
		return RoundPlan{}, nil, err
	}
	provider, ok := p.Providers[g.Provider]
	if !ok {
		return RoundPlan{}, nil, FieldError("provider", "unknown provider %q (have %s)", g.Provider, strings.Join(p.providerNames(), ", "))
	}
	all, err := p.Store.Candidates(ctx, g.ID, p.Validator.Version())
	if err != nil {
		return RoundPlan{}, nil, fmt.Errorf("plan round %d: %w", round, err)
	}
	var earlier []Candidate
	for _, c := range all {
		if c.Round < round {
			earlier = append(earlier, c)
		}
	}
	if g.Model == "" {
		g.Model = provider.DefaultModel()
	}
	var history []ProviderStats
	if p.Policy.Planner != nil {
		if history, err = p.Store.ProviderStats(ctx, g.Provider); err != nil {
			return RoundPlan{}, nil, fmt.Errorf("plan round %d: %w", round, err)
		}
	}
	tally := TallyOf(earlier)
	plan, err := PlanRound(g, round, tally, p.Policy, history)
	if err != nil {
		return RoundPlan{}, nil, err
	}
	plan, choice, err := p.choose(ctx, g, round, tally, history, plan)
	if err != nil {
		return RoundPlan{}, nil, err
	}
	cands, err := p.Store.SavePlan(ctx, g.ID, plan, NewCandidates(g, plan, choice))
	if err != nil {
		return RoundPlan{}, nil, fmt.Errorf("save plan of round %d: %w", round, err)
	}
	return plan, cands, nil
}

// choose picks the round's modifiers. With learning on and a Planner, the
// chooser first draws more candidates than the provider's rate alone would
// plan and predicts each one's pass probability; the round is then the
// smallest prefix of them that keeps the promise (PlanRoundPredicted). The
// chooser draws candidates one after another, so that prefix is what it
// would have chosen for that count. A pool too small to keep the promise
// doubles, up to the round's Max.
func (p *Pipeline) choose(ctx context.Context, g Generation, round int, t Tally, history []ProviderStats, plan RoundPlan) (RoundPlan, ModifierChoice, error) {
	if p.Chooser == nil || !g.Settings.UseRLHFLearning || plan.PosteriorAlpha <= 0 || plan.Count == 0 {
		choice, err := ChooseModifiers(ctx, p.Chooser, g, plan)
		return plan, choice, err
	}
	pool := min(plan.Max, max(plan.Count, 2*plan.Count+8))
	for {
		choice, err := chooseModifiers(ctx, p.Chooser, g, plan, pool, true)
		if err != nil {
			return RoundPlan{}, ModifierChoice{}, err
		}
		if len(choice.Predictions.Draws) == 0 {
			return plan, choice.Truncate(plan.Count), nil
		}
		predicted, err := PlanRoundPredicted(g, round, t, p.Policy, history, choice.Predictions)
		if err != nil {
			return RoundPlan{}, ModifierChoice{}, err
		}
		if predicted.Capped && predicted.Count == pool && pool < plan.Max {
			pool = min(plan.Max, 2*pool)
			continue
		}
		return predicted, choice.Truncate(predicted.Count), nil
	}
}

func (p *Pipeline) providerNames() []string {
	names := make([]string, 0, len(p.Providers))
	for n := range p.Providers {
		names = append(names, n)
	}
	return names
}

// Generate makes the candidate's image and stores it at its deterministic
// key. A filtered or failed generation is an outcome recorded on the
// candidate; throttling and unavailability are returned as *ProviderError for
// the state machine to retry. A candidate that already has an outcome is
// returned as it is (no second paid call).
func (p *Pipeline) Generate(ctx context.Context, candidateID string) (Candidate, error) {
	c, err := p.Store.Candidate(ctx, candidateID, "")
	if err != nil {
		return Candidate{}, fmt.Errorf("generate: %w", err)
	}
	if c.Status != CandidatePlanned {
		return c, nil
	}
	g, err := p.Store.Generation(ctx, c.GenerationID)
	if err != nil {
		return Candidate{}, fmt.Errorf("generate %s: %w", c.ID, err)
	}
	provider, ok := p.Providers[c.Provider]
	if !ok {
		return p.recordOutcome(ctx, c, CandidateFailed, "unknown_provider", 0)
	}
	var reference []byte
	if g.ReferenceKey != "" {
		if reference, err = p.Objects.Get(ctx, g.ReferenceKey); err != nil {
			return Candidate{}, fmt.Errorf("generate %s: load reference: %w", c.ID, err)
		}
	}
	start := p.now()
	img, err := provider.Generate(ctx, ProviderRequest{
		Model:                c.Model,
		Prompt:               c.Prompt,
		NegativePrompt:       c.NegativePrompt,
		Modifiers:            c.Modifiers,
		Seed:                 c.Seed,
		Width:                g.Settings.Width,
		Height:               g.Settings.Height,
		Reference:            reference,
		ReferenceContentType: g.ReferenceContentType,
		ReferencePalette:     g.ReferenceFeatures.Palette,
	})
	if err != nil {
		pe, ok := AsProviderError(err)
		switch {
		case !ok:
			return Candidate{}, fmt.Errorf("generate %s: %w", c.ID, err)
		case pe.Kind == ProviderThrottled || pe.Kind == ProviderUnavailable:
			return Candidate{}, fmt.Errorf("generate %s: %w", c.ID, err)
		case pe.Kind == ProviderFiltered:
			return p.recordOutcome(ctx, c, CandidateFiltered, reasonCode("filtered", pe.Reason), 0)
		default:
			return p.recordOutcome(ctx, c, CandidateFailed, reasonCode(string(pe.Kind), pe.Reason), 0)
		}
	}
	ext := extension(img.ContentType)
	c.ObjectKey = ObjectKey(c.GenerationID, c.Round, c.Index, ext)
	meta := map[string]string{"generation-id": c.GenerationID, "candidate-id": c.ID, "seed": fmt.Sprint(c.Seed)}
	if err := p.Objects.Put(ctx, c.ObjectKey, img.Bytes, img.ContentType, meta); err != nil {
		return Candidate{}, fmt.Errorf("generate %s: store image: %w", c.ID, err)
	}
	c.Status = CandidateStored
	c.ContentType = img.ContentType
	c.Width, c.Height, c.Bytes = img.Width, img.Height, len(img.Bytes)
	c.CostUSD = img.CostUSD
	c.LatencyMS = int(p.now().Sub(start).Milliseconds())
	if img.Model != "" {
		c.Model = img.Model
	}
	if err := p.Store.SaveGenerated(ctx, c); err != nil {
		return Candidate{}, fmt.Errorf("generate %s: %w", c.ID, err)
	}
	return c, nil
}

func (p *Pipeline) recordOutcome(ctx context.Context, c Candidate, status CandidateStatus, reason string, cost float64) (Candidate, error) {
	c.Status, c.FailureReason, c.CostUSD = status, p.safeReason(ctx, "generation", c.GenerationID, reason), cost
	if err := p.Store.SaveGenerated(ctx, c); err != nil {
		return Candidate{}, fmt.Errorf("record %s of %s: %w", status, c.ID, err)
	}
	return c, nil
}

// reasonCode is "code: detail", the detail cut to a readable length.
func reasonCode(code, detail string) string {
	detail = strings.TrimSpace(detail)
	if detail == "" {
		return code
	}
	if len(detail) > 200 {
		detail = detail[:200]
	}
	return code + ": " + detail
}

func extension(contentType string) string {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch mt {
	case "image/jpeg":
		return "jpg"
	case "image/webp":
		return "webp"
	default:
		return "png"
	}
}

// Validate judges a stored candidate once per validator version. When the
// request turned autoValidate off, the verdict is still computed and stored
// (it ranks the images and teaches the learner) but only undecodable images
// fail.
func (p *Pipeline) Validate(ctx context.Context, candidateID string) (Candidate, error) {
	c, err := p.Store.Candidate(ctx, candidateID, p.Validator.Version())
	if err != nil {
		return Candidate{}, fmt.Errorf("validate: %w", err)
	}
	if c.Verdict != nil {
		return c, nil
	}
	if c.Status != CandidateStored {
		return Candidate{}, Errorf(ECONFLICT, "candidate %s is %s, not stored", c.ID, c.Status)
	}
	g, err := p.Store.Generation(ctx, c.GenerationID)
	if err != nil {
		return Candidate{}, fmt.Errorf("validate %s: %w", c.ID, err)
	}
	img, err := p.Objects.Get(ctx, c.ObjectKey)
	if err != nil {
		return Candidate{}, fmt.Errorf("validate %s: load image: %w", c.ID, err)
	}
	v, err := p.Validator.Validate(ctx, img, ValidationSpec{
		Width: g.Settings.Width, Height: g.Settings.Height,
		Reference: g.ReferenceFeatures, MinScore: p.MinScore,
	})
	if err != nil {
		return Candidate{}, fmt.Errorf("validate %s: %w", c.ID, err)
	}
	if !g.Settings.AutoValidate && !v.Passed && !hasReason(v.Reasons, "undecodable") {
		v.Passed = true
		v.Reasons = append(v.Reasons, "not_auto_validated")
	}
	stored, err := p.Store.SaveVerdict(ctx, c.ID, v)
	if err != nil {
		return Candidate{}, fmt.Errorf("validate %s: %w", c.ID, err)
	}
	c.Verdict = &stored
	c.Status = CandidateValidated
	return c, nil
}

func hasReason(reasons []string, r string) bool {
	for _, x := range reasons {
		if x == r {
			return true
		}
	}
	return false
}

// SelectRound tallies the generation after a round and decides on a top-up.
func (p *Pipeline) SelectRound(ctx context.Context, generationID string, round int) (Selection, error) {
	g, cands, err := p.load(ctx, generationID)
	if err != nil {
		return Selection{}, fmt.Errorf("select: %w", err)
	}
	// The Map validates candidates one at a time, so near-duplicates can
	// only be found here, over the whole generation: the lower-ranked twin
	// fails before the tally, and the top-up sees the true pass count. With
	// autoValidate off nothing but undecodable images fails.
	if g.Settings.AutoValidate {
		var marked []string
		cands, marked = MarkDuplicates(cands, p.Validator.SameImage)
		for _, id := range marked {
			if err := p.Store.MarkDuplicate(ctx, id, p.Validator.Version()); err != nil {
				return Selection{}, fmt.Errorf("select: %w", err)
			}
		}
	}
	s := Select(g, cands, round)
	if err := p.Store.SaveSelection(ctx, g.ID, s); err != nil {
		return Selection{}, fmt.Errorf("select: %w", err)
	}
	return s, nil
}

// Deliver marks the delivered and discarded candidates, finishes the
// generation and, with feedback enabled, stores one feedback event per
// candidate in the same transaction and then publishes them to wake the
// learner. Re-running it recomputes the same delivery (ranking is
// deterministic) and re-publishes the same event ids, which are stored
// once.
//
// A committed delivery is final: the stored feedback rows are the outbox,
// so publishing is best effort. Its failure is returned in
// Delivery.PublishErr for the caller to log, never as an error (the next
// fold, the learner's next batch or Recalibrate, counts the rows anyway).
func (p *Pipeline) Deliver(ctx context.Context, generationID string) (Delivery, error) {
	g, cands, err := p.load(ctx, generationID)
	if err != nil {
		return Delivery{}, fmt.Errorf("deliver: %w", err)
	}
	if g.Status == StatusFailed {
		return Delivery{}, Errorf(ECONFLICT, "generation %s has failed: %s", g.ID, g.Error)
	}
	d := Deliver(g, cands, p.now())
	save := d
	if !p.FeedbackEnabled {
		save.Feedback = nil
	}
	if err := p.Store.SaveDelivery(ctx, g.ID, save); err != nil {
		return Delivery{}, fmt.Errorf("deliver: %w", err)
	}
	published := 0
	if p.FeedbackEnabled && p.Publisher != nil && len(d.Feedback) > 0 {
		if err := p.Publisher.Publish(ctx, d.Feedback); err != nil {
			d.PublishErr = fmt.Errorf("deliver %s: publish feedback: %w", g.ID, err)
		} else {
			published = len(d.Feedback)
		}
	}
	// Counted once per generation: a Deliver replayed after its commit
	// (the generation was already final when loaded) records nothing again.
	if p.Metrics != nil && !g.Status.Final() {
		p.Metrics.Record(ctx, DeliveryMetrics(g, cands, d, len(save.Feedback), published))
	}
	return d, nil
}

func (p *Pipeline) load(ctx context.Context, generationID string) (Generation, []Candidate, error) {
	g, err := p.Store.Generation(ctx, generationID)
	if err != nil {
		return Generation{}, nil, err
	}
	cands, err := p.Store.Candidates(ctx, g.ID, p.Validator.Version())
	if err != nil {
		return Generation{}, nil, err
	}
	return g, cands, nil
}

// MarkCandidateErrored records that a candidate's iteration failed for a
// reason other than a provider's or the validator's verdict (the Map's
// Catch: retries ran out on a dependency, a bug). The candidate becomes
// errored — no outcome, nothing learned, replaced by a top-up — unless it
// already has an outcome. Its image, if one was stored before the failure,
// is deleted: an errored candidate keeps no object. The key is derived, so
// an image put just before a row update that failed is found too.
func (p *Pipeline) MarkCandidateErrored(ctx context.Context, candidateID, reason string) error {
	c, err := p.Store.MarkCandidateErrored(ctx, candidateID, p.safeReason(ctx, "candidate", candidateID, reason))
	if err != nil {
		return fmt.Errorf("mark candidate %s errored: %w", candidateID, err)
	}
	if c.Status != CandidateErrored {
		return nil // it has an outcome; its image (if any) is its own
	}
	for _, ext := range []string{"png", "jpg", "webp"} {
		if err := p.Objects.Delete(ctx, ObjectKey(c.GenerationID, c.Round, c.Index, ext)); err != nil {
			return fmt.Errorf("mark candidate %s errored: delete image: %w", candidateID, err)
		}
	}
	return nil
}

// MarkGenerationFailed records why the execution failed. With Metrics, a
// generation that was not final yet counts as failed once (a replay finds
// it final).
func (p *Pipeline) MarkGenerationFailed(ctx context.Context, generationID, reason string) error {
	counts := false
	if p.Metrics != nil {
		if g, err := p.Store.Generation(ctx, generationID); err == nil {
			counts = !g.Status.Final()
		}
	}
	if err := p.Store.MarkGenerationFailed(ctx, generationID, p.safeReason(ctx, "generation", generationID, reason), p.now()); err != nil {
		return err
	}
	if counts {
		p.Metrics.Record(ctx, FailedGenerationMetrics(1))
	}
	return nil
}

// Learn stores feedback events, once per event id, and returns how many
// were new. The events go in one transaction, where one event the database
// refuses would fail them all; should it fail, each is stored alone, so
// only the ones that fail alone fail (and an outage fails them all).
// failed is nil when the batch was stored, else failed[i] is why events[i]
// was not stored (nil: it was).
func (p *Pipeline) Learn(ctx context.Context, events []FeedbackEvent) (inserted int, failed []error) {
	inserted, err := p.Store.InsertFeedback(ctx, events)
	if err == nil {
		return inserted, nil
	}
	p.logger().WarnContext(ctx, "store feedback batch; storing one event at a time", "error", err, "events", len(events))
	inserted, failed = 0, make([]error, len(events))
	for i, e := range events {
		n, err := p.Store.InsertFeedback(ctx, []FeedbackEvent{e})
		if err != nil {
			failed[i] = fmt.Errorf("learn %s: %w", e.EventID, err)
			continue
		}
		inserted += n
	}
	return inserted, failed
}

// Fold folds every stored, unfolded feedback row into the attribute
// statistics exactly once. A failed fold loses nothing: the rows stay
// unfolded for the next one.
func (p *Pipeline) Fold(ctx context.Context) (int, error) {
	folded, err := p.Store.FoldFeedback(ctx, p.LearningRate)
	if err != nil {
		return 0, fmt.Errorf("fold feedback: %w", err)
	}
	return folded, nil
}

// Recalibrate recomputes every provider's statistics from absolute outcomes.
// It first folds any feedback still unfolded: rows a delivery stored whose
// queue message never reached the learner.
func (p *Pipeline) Recalibrate(ctx context.Context) ([]ProviderStats, error) {
	if _, err := p.Fold(ctx); err != nil {
		return nil, fmt.Errorf("recalibrate: %w", err)
	}
	stats, err := p.Store.Recalibrate(ctx, p.now())
	if err != nil {
		return nil, fmt.Errorf("recalibrate: %w", err)
	}
	if p.Policy.Planner == nil {
		return stats, nil
	}
	// Both steps recompute from scratch, so a run that fails between them is
	// repaired by the next one.
	for i := range stats {
		stats[i] = p.Policy.Planner.Assess(stats[i])
	}
	if err := p.Store.SaveAssessments(ctx, stats); err != nil {
		return nil, fmt.Errorf("recalibrate: %w", err)
	}
	return stats, nil
}
