package app

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/designerbff/pipeline/shared/generation"
)

// GenerationReport is a generation as its owner sees it.
type GenerationReport struct {
	Generation generation.Generation
	// Images are the delivered images, by rank, with fresh presigned URLs.
	Images []DeliveredImage
	// Discarded are the candidates with an outcome other than delivery.
	Discarded []DiscardedCandidate
	// DiscardReasons counts the reasons of Discarded.
	DiscardReasons map[string]int
}

// DeliveredImage is one delivered image. URL is presigned per read, never
// stored.
type DeliveredImage struct {
	ID      string
	Rank    int
	Score   *float64
	Flagged bool
	Width   int
	Height  int
	URL     string
}

// DiscardedCandidate is a candidate that was not delivered, and why.
type DiscardedCandidate struct {
	ID      string
	Status  generation.CandidateStatus
	Score   *float64
	Reasons []string
}

// Generation returns generation id for its owner. A generation that does not
// exist and one of another user are the same ENOTFOUND.
func (s *Service) Generation(ctx context.Context, user, id string) (GenerationReport, error) {
	g, err := s.owned(ctx, user, id, "generation not found")
	if err != nil {
		return GenerationReport{}, err
	}
	cands, err := s.Store.Candidates(ctx, id, s.ValidatorVersion)
	if err != nil {
		return GenerationReport{}, fmt.Errorf("load candidates of %s: %w", id, err)
	}
	// Reasons stored before they were checked (SafeReason) are checked here.
	g.Error = generation.SafeReason(g.Error)
	r := GenerationReport{
		Generation:     g,
		Images:         []DeliveredImage{},
		Discarded:      []DiscardedCandidate{},
		DiscardReasons: map[string]int{},
	}
	for _, c := range cands {
		switch c.Status {
		case generation.CandidateSelected:
			img, err := s.image(ctx, c)
			if err != nil {
				return GenerationReport{}, err
			}
			r.Images = append(r.Images, img)
		case generation.CandidateDiscarded, generation.CandidateFailed, generation.CandidateFiltered:
			d := discarded(c)
			for _, reason := range d.Reasons {
				r.DiscardReasons[reason]++
			}
			r.Discarded = append(r.Discarded, d)
		}
	}
	slices.SortStableFunc(r.Images, func(a, b DeliveredImage) int { return cmp.Compare(a.Rank, b.Rank) })
	return r, nil
}

// owned loads generation id if user owns it and has not deleted it;
// otherwise ENOTFOUND with message notFound, whether it exists or not.
func (s *Service) owned(ctx context.Context, user, id, notFound string) (generation.Generation, error) {
	g, err := s.ownedOrDeleted(ctx, user, id)
	if err == nil && g.DeletedAt != nil {
		return generation.Generation{}, generation.Errorf(generation.ENOTFOUND, "%s", notFound)
	}
	if generation.ErrorCode(err) == generation.ENOTFOUND {
		return generation.Generation{}, generation.Errorf(generation.ENOTFOUND, "%s", notFound)
	}
	return g, err
}

// ownedOrDeleted loads generation id if user owns it, deleted or not;
// otherwise ENOTFOUND, whether it exists or not.
func (s *Service) ownedOrDeleted(ctx context.Context, user, id string) (generation.Generation, error) {
	const notFound = "generation not found"
	if !generation.IsUUID(id) {
		return generation.Generation{}, generation.Errorf(generation.ENOTFOUND, "%s", notFound)
	}
	g, err := s.Store.Generation(ctx, id)
	if generation.ErrorCode(err) == generation.ENOTFOUND || (err == nil && (user == "" || g.UserID != user)) {
		return generation.Generation{}, generation.Errorf(generation.ENOTFOUND, "%s", notFound)
	}
	if err != nil {
		return generation.Generation{}, fmt.Errorf("load generation %s: %w", id, err)
	}
	return g, nil
}

// image presigns a delivered candidate's object for this read only.
func (s *Service) image(ctx context.Context, c generation.Candidate) (DeliveredImage, error) {
	url, err := s.Objects.PresignGet(ctx, c.ObjectKey, s.presignExpiry())
	if err != nil {
		return DeliveredImage{}, fmt.Errorf("presign candidate %s: %w", c.ID, err)
	}
	img := DeliveredImage{ID: c.ID, Width: c.Width, Height: c.Height, URL: url}
	if c.Rank != nil {
		img.Rank = *c.Rank
	}
	if c.Verdict != nil {
		score := c.Verdict.Score
		img.Score = &score
		img.Flagged = c.Verdict.Flagged
	}
	return img, nil
}

// discarded explains why a candidate was not delivered.
func discarded(c generation.Candidate) DiscardedCandidate {
	d := DiscardedCandidate{ID: c.ID, Status: c.Status}
	if c.Verdict != nil {
		score := c.Verdict.Score
		d.Score = &score
	}
	switch {
	case c.Status == generation.CandidateDiscarded && c.Verdict != nil && len(c.Verdict.Reasons) > 0:
		d.Reasons = c.Verdict.Reasons
	case c.Status == generation.CandidateDiscarded && c.Verdict != nil && c.Verdict.Passed:
		// It passed but more than enough others passed, with better scores.
		d.Reasons = []string{"surplus"}
	case c.FailureReason != "":
		d.Reasons = []string{generation.SafeReason(c.FailureReason)}
	default:
		d.Reasons = []string{string(c.Status)}
	}
	return d
}
