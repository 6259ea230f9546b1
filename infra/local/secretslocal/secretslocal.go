// Package secretslocal is Secrets Manager on 127.0.0.1 for the local stack
// and the tests: GetSecretValue over the service's real wire protocol (AWS
// JSON 1.1, X-Amz-Target secretsmanager.GetSecretValue), so the
// aws-sdk-go-v2 client that a deployed function uses talks to it unchanged
// (AWS_ENDPOINT_URL_SECRETS_MANAGER). It requires a signed request but
// checks no signature.
package secretslocal

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"time"
)

// Object is a secret's SecretString holding the variables kv, the shape
// system.FromEnv reads.
func Object(kv map[string]string) string {
	b, err := json.Marshal(kv)
	if err != nil {
		panic(err) // a map of strings always encodes
	}
	return string(b)
}

// Start serves secrets (name → SecretString) on 127.0.0.1. Close it.
func Start(secrets map[string]string) *httptest.Server {
	return httptest.NewServer(Handler(secrets, nil))
}

// Handler answers GetSecretValue from secrets (name → SecretString),
// calling read (when not nil) with each SecretId asked for.
func Handler(secrets map[string]string, read func(secretID string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" {
			fail(w, "UnknownOperationException", "only GetSecretValue is served")
			return
		}
		if r.Header.Get("Authorization") == "" {
			fail(w, "MissingAuthenticationTokenException", "the request is not signed")
			return
		}
		var in struct{ SecretId string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.SecretId == "" {
			fail(w, "InvalidParameterException", "SecretId is required")
			return
		}
		if read != nil {
			read(in.SecretId)
		}
		v, ok := secrets[in.SecretId]
		if !ok {
			fail(w, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"ARN":           "arn:aws:secretsmanager:eu-west-1:123456789012:secret:" + in.SecretId + "-AbCdEf",
			"Name":          in.SecretId,
			"SecretString":  v,
			"VersionId":     "00000000-0000-4000-8000-000000000001",
			"VersionStages": []string{"AWSCURRENT"},
			"CreatedDate":   float64(time.Now().Unix()),
		})
	})
}

// fail answers an error the way the service does: 400 with the error's
// type in __type, which the SDK turns into the matching error.
func fail(w http.ResponseWriter, code, message string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": message})
}
