package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/pgtest"
	"github.com/designerbff/pipeline/infra/sam"
	"github.com/designerbff/pipeline/shared/system"
)

// sam-local's env file, read the way the functions read their environment,
// must let every printed step's function handle its sample event: the
// fixtures are seeded and the database and object store are reachable.
func TestSAMLocalServesTheSampleEvents(t *testing.T) {
	t.Parallel()
	envFile := filepath.Join(t.TempDir(), "sam-env.json")
	ctx, cancel := context.WithCancel(t.Context())
	out := &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"sam-local", "--env-file", envFile, "--database-url", pgtest.NewURL(t)}, out, io.Discard)
	}()
	t.Cleanup(func() { cancel(); <-done })

	var params map[string]string
	require.Eventually(t, func() bool {
		data, err := os.ReadFile(envFile)
		if err != nil {
			return false
		}
		var f struct{ Parameters map[string]string }
		require.NoError(t, json.Unmarshal(data, &f))
		params = f.Parameters
		return true
	}, time.Minute, 50*time.Millisecond)

	tpl, err := sam.ReadTemplate("../../template.yaml")
	require.NoError(t, err)
	declared := tpl.Globals["Function"].(map[string]any)["Environment"].(map[string]any)["Variables"].(map[string]any)
	for name := range params {
		if name == "FEEDBACK_QUEUE_URL" {
			continue // declared on the functions that publish
		}
		require.Contains(t, declared, name, "sam ignores --env-vars the template does not declare")
	}

	prefix, _ := tpl.Parameters["SecretPrefix"]["Default"].(string)
	require.Equal(t, samSecretPrefix, prefix, "sam-local serves the secrets under the template's default SecretPrefix")
	handlers := map[string]system.Function{}
	for _, f := range system.Functions {
		handlers[f.LogicalID] = f
	}
	for _, step := range samLocalSteps {
		f, ok := handlers[step.function]
		require.True(t, ok, "no function %s", step.function)
		// The function's own SECRET_IDS (no vision judge), and what
		// Lambda and sam set themselves.
		ids := tpl.Resources[step.function].Properties["Environment"].(map[string]any)["Variables"].(map[string]any)["SECRET_IDS"]
		if m, ok := ids.(map[string]any)["Fn::If"].([]any); ok {
			ids = m[2]
		}
		env := map[string]string{"SECRET_IDS": strings.ReplaceAll(ids.(map[string]any)["Fn::Sub"].(string), "${SecretPrefix}", prefix),
			"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
		sys, err := system.FromEnv(t.Context(), func(k string) string {
			if v, ok := env[k]; ok {
				return v
			}
			return params[k]
		})
		require.NoError(t, err, step.function)
		t.Cleanup(sys.Close)
		h, err := f.Handler(sys)
		require.NoError(t, err)
		event, err := os.ReadFile(filepath.Join("../../events", step.event))
		require.NoError(t, err)
		_, err = lambda.NewHandler(h).Invoke(t.Context(), event)
		require.NoError(t, err, "%s on events/%s", step.function, step.event)
	}
	want := "sam local invoke PlanFunction --event events/plan/round1.json --env-vars " + envFile
	require.Eventually(t, func() bool { return strings.Contains(out.String(), want) }, 10*time.Second, 10*time.Millisecond)
}
