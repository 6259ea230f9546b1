package stack_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/pgtest"
	"github.com/designerbff/pipeline/infra/local/s3local"
	"github.com/designerbff/pipeline/infra/local/stack"
	"github.com/designerbff/pipeline/shared/config"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/r2"
)

// With R2_ENDPOINT set, the stack starts no S3 server of its own: what the
// pipeline stores lands in the external object store.
func TestStackUsesTheConfiguredObjectStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	external, err := s3local.Start()
	require.NoError(t, err)
	t.Cleanup(func() { _ = external.Close() })
	env := map[string]string{
		"R2_ENDPOINT": external.URL(), "R2_BUCKET": "elsewhere", "R2_ACCESS_KEY_ID": "k", "R2_SECRET_ACCESS_KEY": "s", "R2_USE_PATH_STYLE": "true",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	require.NoError(t, err)
	direct, err := r2.New(r2.Config{Endpoint: external.URL(), Bucket: "elsewhere", AccessKeyID: "k", SecretAccessKey: "s", UsePathStyle: true})
	require.NoError(t, err)
	require.NoError(t, direct.EnsureBucket(ctx)) // provisioned outside, as an R2 bucket is

	s, err := stack.Start(ctx, stack.Options{DatabaseURL: pgtest.NewURL(t), Config: cfg})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close(context.Background()) })
	require.Nil(t, s.S3, "no local S3 server when R2_ENDPOINT is set")
	require.NoError(t, s.SeedEventFixtures(ctx))

	_, err = direct.Get(ctx, generation.ReferenceKey(stack.FixtureGenerationID, "png"))
	require.NoError(t, err, "the reference image is in the external store")
}
