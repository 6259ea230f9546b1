package app

import (
	"context"
	"fmt"

	"github.com/designerbff/pipeline/shared/generation"
)

// DeleteGeneration deletes the user's final generation: the row is marked
// deleted and its user content erased (generation.Store.DeleteGeneration),
// then every object under its reference and image prefixes is removed from
// the bucket. What the learner and the planner folded from its outcomes
// stays: aggregate statistics name no user and no image.
//
// A generation still running is ECONFLICT (409): deleting it would race the
// stages that write its images, so the client deletes it once it is final
// (it always becomes final: the execution's timeout and the stall sweep
// finalise it). Another user's generation and an unknown id are ENOTFOUND.
// Deleting again succeeds and repeats the erasure and the object removal,
// so a delete that failed half-way (the bucket unreachable) is finished by
// its retry.
func (s *Service) DeleteGeneration(ctx context.Context, user, id string) error {
	g, err := s.ownedOrDeleted(ctx, user, id)
	if err != nil {
		return err
	}
	if !g.Status.Final() {
		return generation.Errorf(generation.ECONFLICT, "generation is still %s: it can be deleted once it is final", g.Status)
	}
	if err := s.Store.DeleteGeneration(ctx, id, s.now()); err != nil {
		return fmt.Errorf("delete generation %s: %w", id, err)
	}
	for _, prefix := range generation.ObjectPrefixes(id) {
		if _, err := s.Objects.DeletePrefix(ctx, prefix); err != nil {
			return fmt.Errorf("delete objects of generation %s under %s: %w", id, prefix, err)
		}
	}
	return nil
}
