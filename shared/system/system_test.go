package system_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/config"
	"github.com/designerbff/pipeline/shared/quality"
	"github.com/designerbff/pipeline/shared/system"
)

// VALIDATION_AUTO_FLAG_THRESHOLD is the validator's flag band, locally and
// in Lambda alike.
func TestValidatorTakesTheFlagBand(t *testing.T) {
	t.Parallel()
	env := map[string]string{"VALIDATION_MIN_SCORE": "60", "VALIDATION_AUTO_FLAG_THRESHOLD": "12"}
	cfg, err := config.Load(func(k string) string { return env[k] })
	require.NoError(t, err)
	v, err := system.Validator(cfg, func(string) string { return "" })
	require.NoError(t, err)
	require.Equal(t, &quality.Validator{MinScore: 60, FlagMargin: 12}, v, "no vision judge unless VALIDATION_VISION_PROVIDER is set")

	judged, err := system.Validator(cfg, func(k string) string {
		return map[string]string{"VALIDATION_VISION_PROVIDER": "gemini"}[k]
	})
	require.NoError(t, err)
	require.NotEqual(t, v.Version(), judged.Version(), "the judge's model is part of the version")
}

// LOG_LEVEL is the level the Lambda logger writes at, in Lambda's JSON
// format with the invocation's request id.
func TestLambdaLoggerHonoursLogLevel(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := system.LambdaLogger(&buf, "warn")
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	logger.InfoContext(ctx, "hidden")
	logger.WarnContext(ctx, "shown", "generation", "g1")
	var line map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &line), buf.String())
	require.Equal(t, "shown", line["message"])
	require.Equal(t, "WARN", line["level"])
	require.Equal(t, "req-1", line["requestId"])
	require.Equal(t, "g1", line["generation"])
	require.Contains(t, line, "timestamp")
}

type noStarter struct{}

func (noStarter) Start(context.Context, string) (string, error) { return "", nil }

// The deployed API function keys generation ids with GENERATION_ID_SECRET:
// it does not start without one (the local stack's development default
// would make ids derivable), and a short one is refused.
func TestAPIFunctionNeedsTheGenerationIDSecret(t *testing.T) {
	t.Parallel()
	_, err := (&system.System{Starter: noStarter{}}).Handler("api")
	require.ErrorContains(t, err, "GENERATION_ID_SECRET is not set")

	cfg, err := config.Load(func(string) string { return "" })
	require.NoError(t, err)
	_, err = system.New(t.Context(), cfg, system.Deps{PoolSize: 1, Getenv: func(k string) string {
		return map[string]string{"GENERATION_ID_SECRET": "short"}[k]
	}})
	require.ErrorContains(t, err, "GENERATION_ID_SECRET must be at least 32 bytes")
}
