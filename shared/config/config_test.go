package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/designerbff/pipeline/shared/config"
	"github.com/stretchr/testify/require"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(nil))
	require.NoError(t, err)
	require.Equal(t, 20.0, c.DefaultBufferPercent)
	require.Equal(t, 0.95, c.BufferTargetConfidence)
	require.Equal(t, 10, c.BufferMinSamples)
	require.Equal(t, 10.0, c.BufferColdStartWeight)
	require.Equal(t, 0.5, c.PassRatePrior, "Jeffreys'")
	require.Equal(t, 70.0, c.ValidationMinScore)
	require.True(t, c.FeedbackEnabled)
	require.Equal(t, 0.1, c.LearningRate)
	require.Equal(t, "procedural", c.Provider)
	require.Equal(t, time.Hour, c.PresignExpiry)
	require.Equal(t, 3000, c.Port)
}

func TestLoadReportsEveryBadVariable(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(map[string]string{
		"DEFAULT_BUFFER_PERCENT":   "0",
		"BUFFER_COLD_START_WEIGHT": "0",
		"VALIDATION_MIN_SCORE":     "101",
		"RLHF_FEEDBACK_ENABLED":    "maybe",
		"PRESIGN_EXPIRY":           "30d",
		"PORT":                     "x",
		"LOG_LEVEL":                "loud",
		"PASS_RATE_PRIOR":          "0",
	}))
	require.Error(t, err)
	for _, name := range []string{"VALIDATION_MIN_SCORE", "RLHF_FEEDBACK_ENABLED", "PRESIGN_EXPIRY", "PORT", "LOG_LEVEL", "PASS_RATE_PRIOR"} {
		require.Contains(t, err.Error(), name)
	}
	require.NotContains(t, err.Error(), "DEFAULT_BUFFER_PERCENT", "0 is a valid buffer, never coerced")
	require.Equal(t, 0.0, c.DefaultBufferPercent)
	require.NotContains(t, err.Error(), "BUFFER_COLD_START_WEIGHT", "0 plans the default percent as it is")
	require.Equal(t, 0.0, c.BufferColdStartWeight)

	_, err = config.Load(env(map[string]string{"BUFFER_COLD_START_WEIGHT": "-1"}))
	require.ErrorContains(t, err, "BUFFER_COLD_START_WEIGHT")
}

func TestPassRatePrior(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(map[string]string{"PASS_RATE_PRIOR": "1"}))
	require.NoError(t, err)
	require.Equal(t, 1.0, c.PassRatePrior)
	for _, bad := range []string{"0.05", "11", "-1", "NaN", "half"} {
		_, err := config.Load(env(map[string]string{"PASS_RATE_PRIOR": bad}))
		require.ErrorContains(t, err, "PASS_RATE_PRIOR", bad)
	}
}

// The earlier system's VALIDATION_AUTO_FLAG_THRESHOLD=-0.5 was an outlier
// score in [-1, 1]; ours is a band of points, and the error says so.
func TestFlagThresholdIsABandOfPoints(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(map[string]string{"VALIDATION_AUTO_FLAG_THRESHOLD": "8"}))
	require.NoError(t, err)
	require.Equal(t, 8.0, c.ValidationFlagMargin)

	_, err = config.Load(env(map[string]string{"VALIDATION_AUTO_FLAG_THRESHOLD": "-0.5"}))
	require.ErrorContains(t, err, `VALIDATION_AUTO_FLAG_THRESHOLD="-0.5": a band of points (0 to 100) above VALIDATION_MIN_SCORE`)
	require.ErrorContains(t, err, "not the earlier system's outlier score in [-1, 1]")
}

func TestAllowedModels(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(map[string]string{"ALLOWED_MODELS": " replicate:acme/flux-x, OpenAI:gpt-image-9 ,replicate:acme/flux-x"}))
	require.NoError(t, err)
	require.Equal(t, map[string][]string{"replicate": {"acme/flux-x"}, "openai": {"gpt-image-9"}}, c.AllowedModels)
	for _, bad := range []string{"acme/flux-x", "nobody:m", "replicate:../../v1/deployments/acme/x", "replicate:a/b/c", "openai:"} {
		_, err := config.Load(env(map[string]string{"ALLOWED_MODELS": bad}))
		require.ErrorContains(t, err, "ALLOWED_MODELS", bad)
	}
	_, err = config.Load(env(map[string]string{"REPLICATE_MODEL": "acme/x?y"}))
	require.ErrorContains(t, err, "REPLICATE_MODEL")
}

func TestOperatorsAndMonitoring(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(nil))
	require.NoError(t, err)
	require.Equal(t, []string{"operator"}, c.OperatorUserIDs)
	require.Equal(t, "operators", c.OperatorGroup)
	require.Equal(t, 0.25, c.MonitoringMaxCostPerImageUSD)

	c, err = config.Load(env(map[string]string{
		"OPERATOR_USER_IDS": " ana, bo ,,cy ", "OPERATOR_GROUP": "ops", "MONITORING_MAX_COST_PER_IMAGE_USD": "0.1"}))
	require.NoError(t, err)
	require.Equal(t, []string{"ana", "bo", "cy"}, c.OperatorUserIDs)
	require.Equal(t, "ops", c.OperatorGroup)
	require.Equal(t, 0.1, c.MonitoringMaxCostPerImageUSD)

	_, err = config.Load(env(map[string]string{"MONITORING_MAX_COST_PER_IMAGE_USD": "-1"}))
	require.ErrorContains(t, err, "MONITORING_MAX_COST_PER_IMAGE_USD")
}

func TestMetricsNamespace(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(nil))
	require.NoError(t, err)
	require.Equal(t, "DesignerBFF/Pipeline", c.MetricsNamespace)
	for _, bad := range []string{"AWS/Lambda", strings.Repeat("n", 257)} {
		_, err := config.Load(env(map[string]string{"METRICS_NAMESPACE": bad}))
		require.ErrorContains(t, err, "METRICS_NAMESPACE")
	}
}
