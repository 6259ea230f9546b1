// Package secretslocal is Secrets Manager on 127.0.0.1 for the local stack
// and the tests: GetSecretValue over the service's real wire protocol (AWS
// JSON 1.1, X-Amz-Target secretsmanager.GetSecretValue), so the
// aws-sdk-go-v2 client that a deployed function uses talks to it unchanged
// (AWS_ENDPOINT_URL_SECRETS_MANAGER). It checks no signature.
package secretslocal

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// Server serves secrets by name. Close it.
type Server struct {
	*httptest.Server

	mu      sync.Mutex
	secrets map[string]string // name → SecretString
	read    []string          // SecretIds asked for, in order
}

// New serves each secret (name → JSON object of keys to values) as its
// SecretString.
func New(secrets map[string]map[string]string) *Server {
	s := &Server{secrets: map[string]string{}}
	for name, kv := range secrets {
		b, err := json.Marshal(kv)
		if err != nil {
			panic(err) // a map of strings always encodes
		}
		s.secrets[name] = string(b)
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Put sets a secret's SecretString as it is (rotation, or a malformed value).
func (s *Server) Put(name, secretString string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[name] = secretString
}

// Read returns the SecretIds asked for so far.
func (s *Server) Read() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.read...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" {
		fail(w, http.StatusBadRequest, "UnknownOperationException", "only GetSecretValue is served")
		return
	}
	if r.Header.Get("Authorization") == "" {
		fail(w, http.StatusBadRequest, "MissingAuthenticationTokenException", "the request is not signed")
		return
	}
	var in struct{ SecretId string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.SecretId == "" {
		fail(w, http.StatusBadRequest, "InvalidParameterException", "SecretId is required")
		return
	}
	s.mu.Lock()
	s.read = append(s.read, in.SecretId)
	v, ok := s.secrets[in.SecretId]
	s.mu.Unlock()
	if !ok {
		fail(w, http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
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
}

func fail(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": message})
}
