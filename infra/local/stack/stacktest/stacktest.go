// Package stacktest starts a local stack for a test over a fresh migrated
// database (see pgtest).
package stacktest

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/pgtest"
	"github.com/designerbff/pipeline/infra/local/stack"
	"github.com/designerbff/pipeline/shared/config"
)

// New starts a stack with the default configuration and the event fixtures
// seeded; it closes with the test.
func New(t testing.TB) *stack.Stack {
	t.Helper()
	cfg, err := config.Load(func(string) string { return "" })
	require.NoError(t, err)
	s, err := stack.Start(context.Background(), stack.Options{DatabaseURL: pgtest.NewURL(t), Config: cfg})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close(context.Background()) })
	require.NoError(t, s.SeedEventFixtures(context.Background()))
	return s
}

// Event reads events/<function>/<name>.json from the repository root.
func Event(t testing.TB, function, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(Root(t), "events", function, name+".json"))
	require.NoError(t, err)
	return data
}

// Root is the repository root: the nearest folder above the test's working
// directory holding go.mod.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, dir, parent, "no go.mod above the working directory")
		dir = parent
	}
}

// Invoke runs a Lambda handler on a payload through aws-lambda-go's own JSON
// decoding and encoding, as the Lambda runtime does.
func Invoke(t testing.TB, handler any, payload []byte) ([]byte, error) {
	t.Helper()
	out, err := lambda.NewHandler(handler).Invoke(context.Background(), payload)
	return append([]byte(nil), out...), err // Invoke's bytes alias a reused buffer
}

// GetJSON sends GET url as user (the local API's bearer identity), requires
// a 200 answer and decodes its JSON body into out.
func GetJSON(t testing.TB, url, user string, out any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+user)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
}
