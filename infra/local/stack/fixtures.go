package stack

import (
	"context"
	"fmt"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/provider/procedural"
)

// The ids the sample events in events/*/*.json refer to.
const (
	FixtureGenerationID      = "84e8cf6b-2a9c-426c-b0c6-2ec22145a3c3"
	FixtureUserID            = "auth0|65f1c0de2a7b4c0012345678"
	FixtureCandidateID       = "3b5d3886-286a-454d-9003-d01c98e13051" // generate, validate
	FixtureFailedCandidateID = "8b84a5bb-11a0-4ac5-80f9-64f45e59ff03" // markfailed
)

// SeedEventFixtures writes what the sample events refer to, so that each
// event can be invoked against this stack's database (handler tests, or
// `sam local invoke` against a local database): the fixture generation with
// its reference image, and its planned round 1, two candidates of which carry
// the events' fixed ids.
func (s *Stack) SeedEventFixtures(ctx context.Context) error {
	ref, err := procedural.New(procedural.Options{NoDefects: true}).Generate(ctx, generation.ProviderRequest{
		Prompt: "fixture reference", Seed: 1, Width: 96, Height: 96,
	})
	if err != nil {
		return fmt.Errorf("fixture reference: %w", err)
	}
	settings, err := generation.ParseSettings([]byte(`{"count": 2, "bufferPercent": 50, "prompt": "navy wool coat, studio photo"}`),
		generation.Defaults{TargetConfidence: s.Config.BufferTargetConfidence, Provider: s.Config.Provider})
	if err != nil {
		return err
	}
	key := generation.ReferenceKey(FixtureGenerationID, "png")
	if err := s.Objects.Put(ctx, key, ref.Bytes, ref.ContentType, nil); err != nil {
		return err
	}
	g := generation.Generation{
		ID: FixtureGenerationID, UserID: FixtureUserID, Status: generation.StatusPlanning,
		RequestedCount: settings.Count, Settings: settings, Provider: settings.Provider, BasePrompt: settings.Prompt,
		ReferenceKey: key, ReferenceContentType: ref.ContentType, TargetConfidence: settings.TargetConfidence,
		BufferMethod: generation.BufferFixed, BufferPercent: 50,
		ReferenceFeatures: generation.ReferenceFeatures{Width: ref.Width, Height: ref.Height, Format: "png"},
	}
	if _, _, err := s.Store.CreateGeneration(ctx, g); err != nil {
		return err
	}
	_, cands, err := s.Pipeline.PlanRound(ctx, FixtureGenerationID, 1)
	if err != nil {
		return err
	}
	// Candidate ids come from the database; give two of them the events' ids.
	for i, id := range []string{FixtureCandidateID, FixtureFailedCandidateID} {
		if _, err := s.Pool.Exec(ctx, `UPDATE candidates SET id = $1 WHERE id = $2`, id, cands[i].ID); err != nil {
			return fmt.Errorf("fixture candidate %s: %w", id, err)
		}
	}
	return nil
}
