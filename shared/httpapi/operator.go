package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strings"
)

// Operators says who is an operator: the only callers of the dashboard, the
// monitoring sections and the review queue.
//
// In AWS the identity is the HTTP API's JWT authorizer's claims: a caller
// is an operator when Group is one of the values of its cognito:groups,
// groups or roles claim. API Gateway flattens a list claim into one string
// ("[operators admins]"), so a claim is split on brackets, commas and
// spaces. Locally (Service.LocalAuth, no claims) the bearer user id must be
// one of UserIDs (OPERATOR_USER_IDS). Each rule applies only to its own
// transport: a local user id list never admits a caller in AWS, and the
// group never admits a local bearer.
type Operators struct {
	UserIDs []string // OPERATOR_USER_IDS: local identities that are operators
	Group   string   // OPERATOR_GROUP: the JWT group or role of operators
}

// groupClaims are the claims that may list a caller's groups or roles
// (Cognito, and the common names other issuers use).
var groupClaims = []string{"cognito:groups", "groups", "roles"}

type claimsKey struct{}

func withClaims(ctx context.Context, claims map[string]string) context.Context {
	return context.WithValue(ctx, claimsKey{}, claims)
}

// isOperator applies Operators to the request's identity.
func (s *Service) isOperator(r *http.Request, user string) bool {
	if claims, ok := r.Context().Value(claimsKey{}).(map[string]string); ok {
		if s.Operators.Group == "" {
			return false
		}
		for _, name := range groupClaims {
			if slices.Contains(splitClaim(claims[name]), s.Operators.Group) {
				return true
			}
		}
		return false
	}
	return s.LocalAuth && slices.Contains(s.Operators.UserIDs, user)
}

// splitClaim splits a flattened list claim: "[a b]", "a,b" or "a".
func splitClaim(v string) []string {
	return strings.FieldsFunc(v, func(c rune) bool { return c == '[' || c == ']' || c == ',' || c == ' ' })
}

// operator admits operators only: no identity is 401, another user 403,
// both JSON.
func (s *Service) operator(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request, user string) {
		if !s.isOperator(r, user) {
			writeJSON(w, http.StatusForbidden, errorBody{Error: errorDetail{
				Code: "forbidden", Message: "this route is for operators only",
			}})
			return
		}
		h(w, r, user)
	})
}
