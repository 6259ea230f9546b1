package app

import (
	"context"
	"fmt"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/learning"
)

// The operations of this file are for operators only; the transport
// decides who is one (shared/httpapi).

// MaxReviewQueue bounds one read of the review queue.
const MaxReviewQueue = 100

// MonitoringSection returns one of generation.MonitoringSections, read
// with MonitoringQuery's thresholds. An unknown section is ENOTFOUND.
func (s *Service) MonitoringSection(ctx context.Context, section string) (generation.MonitoringSection, error) {
	if !generation.IsMonitoringSection(section) {
		return generation.MonitoringSection{}, generation.Errorf(generation.ENOTFOUND,
			"no monitoring section %q (want one of %v)", section, generation.MonitoringSections)
	}
	if s.Monitoring == nil {
		return generation.MonitoringSection{}, generation.Errorf(generation.EUNAVAILABLE, "monitoring is not enabled")
	}
	sec, err := s.Monitoring.MonitoringSection(ctx, section, s.MonitoringQuery)
	if err != nil {
		return generation.MonitoringSection{}, fmt.Errorf("read monitoring section %s: %w", section, err)
	}
	return sec, nil
}

// ReviewQueue returns the images awaiting an operator's review, newest
// first, at most limit (1–MaxReviewQueue), each with a fresh presigned URL.
// An image is flagged when it passed within VALIDATION_AUTO_FLAG_THRESHOLD
// points of the threshold or a user rated it 1 or 2; it leaves the queue
// once reviewed.
func (s *Service) ReviewQueue(ctx context.Context, limit int) ([]generation.ReviewItem, error) {
	if limit < 1 || limit > MaxReviewQueue {
		return nil, generation.FieldError("limit", "must be from 1 to %d, got %d", MaxReviewQueue, limit)
	}
	if s.Monitoring == nil {
		return nil, generation.Errorf(generation.EUNAVAILABLE, "monitoring is not enabled")
	}
	items, err := s.Monitoring.ReviewQueue(ctx, limit)
	if err != nil {
		return nil, fmt.Errorf("read review queue: %w", err)
	}
	for i := range items {
		if items[i].URL, err = s.Objects.PresignGet(ctx, items[i].ObjectKey, s.presignExpiry()); err != nil {
			return nil, fmt.Errorf("presign %s: %w", items[i].ObjectKey, err)
		}
	}
	return items, nil
}

// Review decisions.
const (
	ReviewApprove = "approve"
	ReviewReject  = "reject"
)

// ReviewRequest is an operator's decision on one image.
type ReviewRequest struct {
	Operator string
	ImageID  string
	Decision string // ReviewApprove or ReviewReject
}

// Review publishes an operator's approval or rejection of an image to the
// learner as an operator_review feedback event (learning.ReviewEvent:
// ReviewWeight passes or failures for each of its modifiers), which it
// returns. An image has one live review: a later decision replaces the
// earlier one. Any image that was stored and validated may be reviewed,
// queued or not; an unknown one, or one without a verdict, is ENOTFOUND.
func (s *Service) Review(ctx context.Context, req ReviewRequest) (generation.FeedbackEvent, error) {
	if req.Decision != ReviewApprove && req.Decision != ReviewReject {
		return generation.FeedbackEvent{}, generation.FieldError("decision", "must be %q or %q, got %q", ReviewApprove, ReviewReject, req.Decision)
	}
	const notFound = "image not found"
	if !generation.IsUUID(req.ImageID) {
		return generation.FeedbackEvent{}, generation.Errorf(generation.ENOTFOUND, notFound)
	}
	c, err := s.Store.Candidate(ctx, req.ImageID, s.ValidatorVersion)
	if generation.ErrorCode(err) == generation.ENOTFOUND || (err == nil && (c.Verdict == nil || c.ObjectKey == "")) {
		return generation.FeedbackEvent{}, generation.Errorf(generation.ENOTFOUND, notFound)
	}
	if err != nil {
		return generation.FeedbackEvent{}, fmt.Errorf("load image %s: %w", req.ImageID, err)
	}
	if s.Ratings == nil {
		return generation.FeedbackEvent{}, generation.Errorf(generation.EUNAVAILABLE, "feedback is not enabled")
	}
	e := learning.ReviewEvent(c, req.Operator, req.Decision == ReviewApprove, s.now())
	if err := s.Ratings.Publish(ctx, []generation.FeedbackEvent{e}); err != nil {
		s.logger().ErrorContext(ctx, "publish operator review", "image", c.ID, "error", err)
		return generation.FeedbackEvent{}, generation.Errorf(generation.EUNAVAILABLE, "the feedback queue is unavailable; retry later")
	}
	return e, nil
}
