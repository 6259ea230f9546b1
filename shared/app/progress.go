package app

import (
	"context"

	"github.com/designerbff/pipeline/shared/generation"
)

// Progress returns the user's generation without its images (no URL is
// presigned): what a client watching it needs, cheap enough to read
// repeatedly. Another user's generation, a deleted one and an unknown id
// are ENOTFOUND.
func (s *Service) Progress(ctx context.Context, user, id string) (generation.Generation, error) {
	g, err := s.owned(ctx, user, id, "generation not found")
	if err != nil {
		return generation.Generation{}, err
	}
	g.Error = generation.SafeReason(g.Error)
	return g, nil
}
