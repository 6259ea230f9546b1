package system_test

import (
	"net/http/httptest"
	"runtime/debug"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/secretslocal"
	"github.com/designerbff/pipeline/shared/system"
)

const verifiedURL = "postgres://pipeline:from-the-secret@db.example.internal:5432/pipeline?sslmode=verify-full"

// lambdaEnv is a deployed function's environment around a fake Secrets
// Manager: what template.yaml sets, plus what Lambda itself sets.
func lambdaEnv(sm *httptest.Server, secretIDs string, extra map[string]string) func(string) string {
	env := map[string]string{
		"PROVIDER":                         "procedural",
		"R2_ENDPOINT":                      "https://account.r2.cloudflarestorage.com",
		"SECRET_IDS":                       secretIDs,
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": sm.URL,
		"AWS_REGION":                       "eu-west-1",
		"AWS_ACCESS_KEY_ID":                "AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY":            "example",
		"AWS_SESSION_TOKEN":                "token",
	}
	for k, v := range extra {
		env[k] = v
	}
	return func(k string) string { return env[k] }
}

// A deployed function reads the secrets SECRET_IDS names from Secrets
// Manager at init, over the SDK's real client and wire protocol, and
// nothing else: a secret it does not name is not read, and the
// environment cannot shadow a secret's value.
func TestFromEnvReadsItsSecretsFromSecretsManager(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var read []string
	sm := httptest.NewServer(secretslocal.Handler(map[string]string{
		"p/database": secretslocal.Object(map[string]string{"DATABASE_URL": verifiedURL}),
		"p/r2":       secretslocal.Object(map[string]string{"R2_ACCESS_KEY_ID": "r2-id", "R2_SECRET_ACCESS_KEY": "r2-secret"}),
		"p/api":      secretslocal.Object(map[string]string{"GENERATION_ID_SECRET": "0123456789abcdef0123456789abcdef-api"}),
		"p/openai":   secretslocal.Object(map[string]string{"OPENAI_API_KEY": "sk-not-read"}),
	}, func(id string) {
		mu.Lock()
		defer mu.Unlock()
		read = append(read, id)
	}))
	t.Cleanup(sm.Close)

	s, err := system.FromEnv(t.Context(), lambdaEnv(sm, "p/database,p/r2,p/api", map[string]string{
		"DATABASE_URL": "postgres://stale@localhost/x?sslmode=disable", // a secret wins over the environment
	}))
	require.NoError(t, err)
	t.Cleanup(s.Close)
	require.Equal(t, verifiedURL, s.Config.DatabaseURL)
	require.Equal(t, "r2-id", s.Config.ObjectAccessKey)
	require.Equal(t, "r2-secret", s.Config.ObjectSecretKey)
	require.NotNil(t, s.Objects)
	require.Equal(t, "0123456789abcdef0123456789abcdef-api", s.GenerationIDSecret)
	mu.Lock()
	require.Equal(t, []string{"p/database", "p/r2", "p/api"}, read, "each named secret read once, no other")
	mu.Unlock()

	// A database-only function has no R2 credentials: its object store
	// refuses every call instead of working with someone else's keys.
	s, err = system.FromEnv(t.Context(), lambdaEnv(sm, "p/database", nil))
	require.NoError(t, err)
	t.Cleanup(s.Close)
	require.Nil(t, s.Objects)
	_, err = s.Pipeline.Objects.Get(t.Context(), "k")
	require.ErrorContains(t, err, "no R2 credentials")
}

func TestFromEnvFailsWithoutItsSecret(t *testing.T) {
	t.Parallel()
	sm := secretslocal.Start(map[string]string{
		"p/database": secretslocal.Object(map[string]string{"DATABASE_URL": verifiedURL}),
		"p/plain":    "hunter2-not-json",
	})
	t.Cleanup(sm.Close)
	_, err := system.FromEnv(t.Context(), lambdaEnv(sm, "p/database,p/missing", nil))
	require.ErrorContains(t, err, "read secret p/missing")
	require.ErrorContains(t, err, "ResourceNotFoundException")

	_, err = system.FromEnv(t.Context(), lambdaEnv(sm, "p/plain", nil))
	require.ErrorContains(t, err, "secret p/plain: want a JSON object of strings")
	require.NotContains(t, err.Error(), "hunter2", "a secret's value never reaches a message")
}

// Without SECRET_IDS (make serve, sam-local's in-process run) the secrets
// come from the environment.
func TestFromEnvWithoutSecretIDsReadsTheEnvironment(t *testing.T) {
	t.Parallel()
	env := map[string]string{"PROVIDER": "procedural", "DATABASE_URL": verifiedURL,
		"R2_ENDPOINT": "https://account.r2.cloudflarestorage.com", "R2_ACCESS_KEY_ID": "id", "R2_SECRET_ACCESS_KEY": "secret"}
	s, err := system.FromEnv(t.Context(), func(k string) string { return env[k] })
	require.NoError(t, err)
	t.Cleanup(s.Close)
	require.Equal(t, verifiedURL, s.Config.DatabaseURL)
	require.Equal(t, "id", s.Config.ObjectAccessKey)
}

// In AWS the database's certificate is verified, on every host pgx would
// try; only an explicit local switch allows less.
func TestFromEnvRequiresVerifiedDatabaseTLS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url string
		ok  bool
	}{
		{"postgres://u:p@db/x", false}, // pgx's default: sslmode=prefer
		{"postgres://u:p@db/x?sslmode=disable", false},
		{"postgres://u:p@db/x?sslmode=allow", false},
		{"postgres://u:p@db/x?sslmode=prefer", false},
		{"postgres://u:p@db/x?sslmode=require", false},
		{"host=db user=u sslmode=require", false},
		{"postgres://u:p@db/x?sslmode=verify-full", true},
		{"postgres://u:p@db/x?sslmode=verify-ca", true},
		{"host=db user=u sslmode=verify-full", true},
		{"postgres://u:p@db1,db2/x?sslmode=verify-full", true},
	}
	for _, tt := range tests {
		err := system.RequireVerifiedTLS(tt.url)
		if tt.ok {
			require.NoError(t, err, tt.url)
		} else {
			require.ErrorContains(t, err, "must verify the server's certificate", tt.url)
		}
	}

	env := map[string]string{"PROVIDER": "procedural", "DATABASE_URL": "postgres://u:p@127.0.0.1/x",
		"R2_ENDPOINT": "https://account.r2.cloudflarestorage.com", "R2_ACCESS_KEY_ID": "id", "R2_SECRET_ACCESS_KEY": "secret"}
	_, err := system.FromEnv(t.Context(), func(k string) string { return env[k] })
	require.ErrorContains(t, err, "DATABASE_URL must verify the server's certificate")
	env[system.AllowUnverifiedTLSEnv] = "true"
	s, err := system.FromEnv(t.Context(), func(k string) string { return env[k] })
	require.NoError(t, err)
	s.Close()
}

// FromEnv sets the Go memory limit to 90 % of the function's memory, unless
// GOMEMLIMIT says otherwise. Not parallel: the limit is the process's.
func TestFromEnvSetsTheMemoryLimit(t *testing.T) {
	got, ok := system.MemoryLimit(func(k string) string {
		return map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"}[k]
	})
	require.True(t, ok)
	require.Equal(t, int64(1024<<20)*9/10, got)
	_, ok = system.MemoryLimit(func(k string) string {
		return map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024", "GOMEMLIMIT": "500MiB"}[k]
	})
	require.False(t, ok, "GOMEMLIMIT wins")
	_, ok = system.MemoryLimit(func(string) string { return "" })
	require.False(t, ok, "not in Lambda: no limit")

	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	env := map[string]string{"PROVIDER": "procedural", "DATABASE_URL": verifiedURL, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"R2_ENDPOINT": "https://account.r2.cloudflarestorage.com", "R2_ACCESS_KEY_ID": "id", "R2_SECRET_ACCESS_KEY": "secret"}
	s, err := system.FromEnv(t.Context(), func(k string) string { return env[k] })
	require.NoError(t, err)
	s.Close()
	require.Equal(t, int64(256<<20)*9/10, debug.SetMemoryLimit(-1))
}
