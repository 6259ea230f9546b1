package system

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// SecretIDsEnv lists, comma-separated, the Secrets Manager secrets (names
// or ARNs) a deployed function reads at init. Each secret's SecretString is
// a JSON object of variable names (DATABASE_URL, OPENAI_API_KEY, …) to
// values. template.yaml gives each function only the secrets it uses, and
// IAM lets it read only those. Unset (make serve, make demo, the tests):
// secrets come from the environment like everything else.
const SecretIDsEnv = "SECRET_IDS"

// SecretNames are the variables that only ever come from Secrets Manager in
// AWS: template.yaml never sets them (infra/sam checks it).
var SecretNames = []string{
	"DATABASE_URL", "R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY", GenerationIDSecretEnv,
	"OPENAI_API_KEY", "GEMINI_API_KEY", "STABILITY_API_KEY", "REPLICATE_API_TOKEN", WebhookSecretEnv,
}

// withSecrets reads every secret SECRET_IDS names, once (FromEnv runs once
// per execution environment, so the values are cached for its life and a
// rotation reaches the next cold start without a redeploy), and returns a
// getenv that answers a secret's keys from it and everything else from
// getenv. A secret that cannot be read, or is not a JSON object of
// strings, fails the init rather than starting a function without it.
func withSecrets(ctx context.Context, getenv func(string) string, client *secretsmanager.Client) (func(string) string, error) {
	values := map[string]string{}
	for id := range strings.SplitSeq(getenv(SecretIDsEnv), ",") {
		if id = strings.TrimSpace(id); id == "" {
			continue
		}
		out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil {
			return nil, fmt.Errorf("read secret %s: %w", id, err)
		}
		var kv map[string]string
		if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &kv); err != nil {
			// The value never goes into the message.
			return nil, fmt.Errorf("secret %s: want a JSON object of strings", id)
		}
		for k, v := range kv {
			values[k] = v
		}
	}
	return func(name string) string {
		if v, ok := values[name]; ok {
			return v
		}
		return getenv(name)
	}, nil
}
