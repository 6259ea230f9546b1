package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/designerbff/pipeline/infra/internal/cli"
	"github.com/designerbff/pipeline/infra/local/secretslocal"
	"github.com/designerbff/pipeline/infra/local/stack"
	"github.com/designerbff/pipeline/shared/config"
	"github.com/designerbff/pipeline/shared/system"
)

func init() {
	commands["sam-local"] = cli.Command{Summary: "serve Postgres and S3 with the events/ fixtures seeded, for `sam local invoke` (writes its --env-vars file)", Run: samLocalCommand}
}

// samLocalCommand makes `sam local invoke <Function> --event events/…`
// work without AWS: it starts the local stack's Postgres (or uses
// $DATABASE_URL) and S3 server, seeds what the sample events refer to, and
// writes the environment the functions need in the shape of sam's
// --env-vars file. It serves until interrupted. The functions run in
// Docker, so they reach 127.0.0.1 only with --docker-network host.
func samLocalCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sam-local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	envFile := fs.String("env-file", ".local/sam-env.json", "where to write the --env-vars file")
	databaseURL := fs.String("database-url", os.Getenv("DATABASE_URL"), "database to migrate and seed (default: a throwaway cluster)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return err
	}
	s, err := stack.Start(ctx, stack.Options{DatabaseURL: *databaseURL, Config: cfg, Logger: logger(stderr, cfg.LogLevel)})
	if err != nil {
		return err
	}
	defer s.Close(context.WithoutCancel(ctx))
	if err := s.SeedEventFixtures(ctx); err != nil {
		return fmt.Errorf("seed the event fixtures: %w", err)
	}
	secrets := secretslocal.Start(samSecrets(s, os.Getenv))
	defer secrets.Close()
	if err := writeSAMEnv(*envFile, samEnv(s, secrets.URL)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Postgres, S3 and Secrets Manager are up with the events/ fixtures seeded; Ctrl-C stops.\n")
	fmt.Fprintf(stdout, "The functions sign their Secrets Manager calls: sam passes your AWS credentials (any will do).\n")
	fmt.Fprintf(stdout, "In another terminal, in this order (each event continues the fixture generation):\n")
	for _, step := range samLocalSteps {
		fmt.Fprintf(stdout, "  sam local invoke %s --event events/%s --env-vars %s --docker-network host\n", step.function, step.event, *envFile)
	}
	<-ctx.Done()
	return nil
}

// samLocalSteps are the template's functions with the event that follows on
// from the fixtures' state, in pipeline order.
var samLocalSteps = []struct{ function, event string }{
	{"PlanFunction", "plan/round1.json"},
	{"GenerateFunction", "generate/candidate.json"},
	{"ValidateFunction", "validate/candidate.json"},
	{"MarkFailedFunction", "markfailed/candidate.json"},
	{"SelectFunction", "select/round.json"},
	{"DeliverFunction", "deliver/generation.json"},
	{"LearnerFunction", "learner/batch.json"},
	{"RecalibrateFunction", "recalibrate/schedule.json"},
}

// samSecretPrefix is template.yaml's SecretPrefix default: the functions
// read the secrets their SECRET_IDS name under it, here from
// secretslocal.
const samSecretPrefix = "designer-bff/pipeline"

// samSecrets are the secrets template.yaml's functions read, holding this
// stack's database and object store; provider keys come from the local
// environment (the procedural provider needs none).
func samSecrets(s *stack.Stack, getenv func(string) string) map[string]string {
	p := samSecretPrefix + "/"
	return map[string]string{
		p + "database":  secretslocal.Object(map[string]string{"DATABASE_URL": s.Config.DatabaseURL}),
		p + "r2":        secretslocal.Object(map[string]string{"R2_ACCESS_KEY_ID": s.Config.ObjectAccessKey, "R2_SECRET_ACCESS_KEY": s.Config.ObjectSecretKey}),
		p + "api":       secretslocal.Object(map[string]string{"GENERATION_ID_SECRET": system.DevGenerationIDSecret}),
		p + "openai":    secretslocal.Object(map[string]string{"OPENAI_API_KEY": getenv("OPENAI_API_KEY")}),
		p + "gemini":    secretslocal.Object(map[string]string{"GEMINI_API_KEY": getenv("GEMINI_API_KEY")}),
		p + "stability": secretslocal.Object(map[string]string{"STABILITY_API_KEY": getenv("STABILITY_API_KEY")}),
		p + "replicate": secretslocal.Object(map[string]string{"REPLICATE_API_TOKEN": getenv("REPLICATE_API_TOKEN")}),
		p + "webhook":   secretslocal.Object(map[string]string{"WEBHOOK_SIGNING_SECRET": system.DevWebhookSecret}),
	}
}

// samEnv is the environment every function gets: this stack's object
// store, its provider, the local Secrets Manager at secretsURL, a database
// without TLS, and no feedback queue (Deliver then records the selection
// without publishing; the learner's own event carries its messages). sam
// applies a variable only where the template declares it, and these
// replace the template's values; each function's SECRET_IDS stays the
// template's.
func samEnv(s *stack.Stack, secretsURL string) map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": secretsURL,
		system.AllowUnverifiedTLSEnv:       "true",
		"R2_ENDPOINT":                      s.Config.ObjectEndpoint,
		"R2_BUCKET":                        s.Config.ObjectBucket,
		"R2_USE_PATH_STYLE":                strconv.FormatBool(s.Config.ObjectPathStyle),
		"FEEDBACK_QUEUE_URL":               "",
		// A deployed function refuses to start without naming its provider.
		"PROVIDER": s.Config.Provider,
	}
}

// writeSAMEnv writes vars as sam's --env-vars JSON, whose "Parameters"
// object applies to every function.
func writeSAMEnv(path string, vars map[string]string) error {
	data, err := json.MarshalIndent(map[string]map[string]string{"Parameters": vars}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o600)
}
