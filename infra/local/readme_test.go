package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/pgserver"
	"github.com/designerbff/pipeline/infra/local/stack"
	"github.com/designerbff/pipeline/infra/local/stack/stacktest"
)

// readmeExamples returns the sh block of README's "### Examples" and the
// route table of "## The API" (its `METHOD /path` cells).
func readmeExamples(t *testing.T) (script string, routes []string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(stacktest.Root(t), "README.md"))
	require.NoError(t, err)
	readme := string(raw)
	api := readme[strings.Index(readme, "\n## The API\n"):]
	api = api[:strings.Index(api[1:], "\n## ")+1]
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Z]+ /[^` ?]*)").FindAllStringSubmatch(api, -1) {
		routes = append(routes, m[1])
	}
	ex := api[strings.Index(api, "\n### Examples\n"):]
	start := strings.Index(ex, "```sh\n") + len("```sh\n")
	end := strings.Index(ex[start:], "```")
	require.Positive(t, end, "README's Examples have no sh block")
	return ex[start : start+end], routes
}

// README's examples run as they are, with bash, against `serve`; every route
// of README's table and of the OpenAPI document is called in them.
func TestREADMEExamples(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs serve")
	}
	for _, tool := range []string{"bash", "curl", "jq", "base64"} {
		_, err := exec.LookPath(tool)
		require.NoError(t, err, "README's examples need %s (make test installs curl and jq)", tool)
	}
	script, routes := readmeExamples(t)
	contract := stacktest.NewContract(t)
	require.ElementsMatch(t, contract.Operations(), routes, "README's route table and the OpenAPI document differ")
	calls := callsIn(script)
	for _, op := range routes {
		require.True(t, calledIn(calls, op), "README's examples never call %s", op)
	}

	ctx := context.Background()
	dir, err := os.MkdirTemp("", "readme-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755)) // the postgres user runs the cluster when root
	dataDir := filepath.Join(dir, "data")
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	bin := filepath.Join(dir, "local")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	reference, err := stack.DemoReference(ctx)
	require.NoError(t, err)
	work := filepath.Join(dir, "work")
	require.NoError(t, os.Mkdir(work, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(work, "shirt.png"), reference, 0o644))

	srv := startServe(t, bin, dataDir)
	t.Cleanup(func() {
		_ = srv.cmd.Process.Signal(os.Interrupt)
		_ = srv.cmd.Wait()
		if pg, err := pgserver.StartIn(ctx, filepath.Join(dataDir, "postgres"), pgserver.Options{}); err == nil {
			_ = pg.Stop(ctx)
		}
	})
	// serve says which database (password redacted) and object store it uses.
	require.Regexp(t, `database postgres://`, srv.out.String())
	require.Regexp(t, `S3 endpoint http://127\.0\.0\.1:\d+ \(bucket `, srv.out.String())

	// `make serve &` is the stack the test already started.
	body := strings.Replace(script, "make serve &\n", "", 1)
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", body)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "API="+srv.url)
	got, err := cmd.CombinedOutput()
	require.NoError(t, err, "README's examples failed:\n%s\nserve said:\n%s", got, srv.out)
	require.Contains(t, string(got), "204", "the delete answered 204")
	require.Contains(t, string(got), `"/openapi.json"`)
	t.Logf("README's examples:\n%s", got)
}

// callsIn joins the script's continued lines and returns its curl commands.
func callsIn(script string) []string {
	joined := strings.ReplaceAll(script, "\\\n", " ")
	var calls []string
	for line := range strings.SplitSeq(joined, "\n") {
		for _, part := range strings.Split(line, "curl ")[1:] {
			calls = append(calls, "curl "+part)
		}
	}
	return calls
}

// calledIn reports whether a curl call sends op ("DELETE /v1/generations/{id}"):
// the path with each {param} a $VARIABLE or a literal segment, the method
// from -X, or POST for -d and -F, else GET.
func calledIn(calls []string, op string) bool {
	method, path, _ := strings.Cut(op, " ")
	// QuoteMeta escapes the braces: `\{id\}` is a parameter.
	param := regexp.MustCompile(`\\\{[^}]+\\\}`)
	re := regexp.MustCompile(`"\$API` + param.ReplaceAllString(regexp.QuoteMeta(path), `[^/?"]+`) + `[?"]`)
	for _, c := range calls {
		if !re.MatchString(c) {
			continue
		}
		got := "GET"
		switch {
		case strings.Contains(c, "-X DELETE"):
			got = "DELETE"
		case strings.Contains(c, " -d ") || strings.Contains(c, " -F "):
			got = "POST"
		}
		if got == method {
			return true
		}
	}
	return false
}

// serve prints the database URL without its password.
func TestRedactURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"postgres://app:s3cret@db.example.com:5432/pipeline?sslmode=verify-full": "postgres://app:xxxxx@db.example.com:5432/pipeline?sslmode=verify-full",
		"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable":            "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
		"postgres://db.example.com/p?password=s3cret&user=app":                   "postgres://db.example.com/p?password=xxxxx&user=app",
		"host=db user=app password=s3cret":                                       "(a key=value connection string, not shown)",
	} {
		require.Equal(t, want, redactURL(in))
		require.NotContains(t, redactURL(in), "s3cret")
	}
}
