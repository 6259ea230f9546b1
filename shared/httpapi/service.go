// Package httpapi serves the API function's routes. The same ServeMux answers
// net/http requests (`make serve`) and API Gateway HTTP API v2 events
// (Lambda), so both paths run identical code.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/designerbff/pipeline/shared/app"
	"github.com/designerbff/pipeline/shared/generation"
)

// DefaultMaxBodyBytes is the default bound of a request body: API Gateway's
// own payload limit.
const DefaultMaxBodyBytes = 10 << 20

// Service is the API's transport: each route decodes its request, calls one
// operation of App and encodes the answer or the coded error.
type Service struct {
	// App runs the operations (required).
	App *app.Service
	// MaxBodyBytes bounds a create request's body (default 10 MiB).
	MaxBodyBytes int64
	// LocalAuth makes `Authorization: Bearer <user-id>` the identity in
	// Handler. Local only: NEVER set it in AWS. HandleAPIGateway ignores it
	// and reads the JWT authorizer's claims only.
	LocalAuth bool
	// Logger receives internal errors, which callers see as "internal
	// error" (default slog.Default()).
	Logger *slog.Logger
	// Operators says who may open /dashboard, /v1/monitoring and
	// /v1/reviews (see operator.go); the zero value admits nobody.
	Operators Operators

	once     sync.Once
	mux      http.Handler
	patterns []string // every registered pattern (see patternMux)
}

// Handler returns the net/http routes (for `make serve` and tests). With
// LocalAuth, the bearer token is taken as the user id.
func (s *Service) Handler() http.Handler {
	routes := s.routes()
	if !s.LocalAuth {
		return routes
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, ok := bearerUser(r); ok {
			r = r.WithContext(withUser(r.Context(), user))
		}
		routes.ServeHTTP(w, r)
	})
}

// routes builds the mux once; both transports share it.
func (s *Service) routes() http.Handler {
	s.once.Do(func() {
		mux := &patternMux{ServeMux: http.NewServeMux(), patterns: &s.patterns}
		mux.HandleFunc("POST /api/generate/from-image", s.authed(s.createFrom((*Service).readForm)))
		mux.HandleFunc("POST /v1/generations", s.authed(s.createFrom((*Service).readJSON)))
		mux.HandleFunc("GET /v1/generations", s.authed(s.listGenerations))
		mux.HandleFunc("GET /v1/generations/{id}", s.authed(s.getGeneration))
		mux.HandleFunc("DELETE /v1/generations/{id}", s.authed(s.deleteGeneration))
		mux.HandleFunc("GET /v1/generations/{id}/events", s.authed(s.generationEvents))
		mux.HandleFunc("GET /api/optimization/buffer/{providerId}", s.authed(s.getBuffer))
		mux.HandleFunc("GET /api/optimization/provider/{providerId}", s.authed(s.getProvider))
		mux.HandleFunc("POST /v1/generations/{id}/images/{imageId}/feedback", s.authed(s.postFeedback))
		mux.HandleFunc("GET /v1/learning/{provider}", s.authed(s.getLearning))
		s.operatorRoutes(mux)
		mux.HandleFunc("GET /openapi.json", serveOpenAPI)
		s.mux = recoverJSON(s, jsonFallback(mux.ServeMux))
	})
	return s.mux
}

// jsonFallback answers unknown routes and wrong methods with the JSON error
// body instead of ServeMux's plain text, keeping its status and Allow header.
func jsonFallback(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			// ServeHTTP (not h) so that r.PathValue is populated.
			mux.ServeHTTP(w, r)
			return
		}
		rec := newRecorder()
		h.ServeHTTP(rec, r)
		switch rec.code {
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", rec.header.Get("Allow"))
			writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: errorDetail{
				Code: "method_not_allowed", Message: r.Method + " is not allowed here",
			}})
		case http.StatusNotFound:
			writeJSON(w, http.StatusNotFound, errorBody{Error: errorDetail{
				Code: generation.ENOTFOUND, Message: "no such route",
			}})
		default:
			rec.replay(w)
		}
	})
}

type userKey struct{}

func withUser(ctx context.Context, user string) context.Context {
	return context.WithValue(ctx, userKey{}, user)
}

// userFrom returns the authenticated user put in the context by a transport.
func userFrom(ctx context.Context) (string, bool) {
	user, ok := ctx.Value(userKey{}).(string)
	return user, ok && user != ""
}

// authed rejects requests without an identity before anything is read.
func (s *Service) authed(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user, ok := userFrom(r.Context())
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="designer-bff"`)
			s.writeError(w, r, generation.Errorf(generation.EUNAUTHORIZED, "%s", s.howToAuthenticate()))
			return
		}
		h(w, r, user)
	}
}

// howToAuthenticate is the 401's message: what the caller must send.
func (s *Service) howToAuthenticate() string {
	if s.LocalAuth {
		return "authentication required: send `Authorization: Bearer` and your user id, e.g. `Authorization: Bearer alice` (the local stack's identity)"
	}
	return "authentication required: send `Authorization: Bearer` and a JWT from this deployment's identity provider (its sub claim is the user)"
}

// patternMux records every pattern registered on its ServeMux, so that the
// route table is one list that the OpenAPI document is checked against.
type patternMux struct {
	*http.ServeMux
	patterns *[]string
}

// HandleFunc registers h at pattern. (register is a method value so that
// infra/sam's scan, which reads every mux.HandleFunc("literal", …) call of
// this package as a route, does not take this forwarding call for one.)
func (m *patternMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	handle := m.Handle
	handle(pattern, http.HandlerFunc(h))
}

// Handle registers h at pattern.
func (m *patternMux) Handle(pattern string, h http.Handler) {
	*m.patterns = append(*m.patterns, pattern)
	register := m.ServeMux.Handle
	register(pattern, h)
}

var localUserID = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,128}$`)

// bearerUser reads the local-only identity `Authorization: Bearer <user-id>`.
func bearerUser(r *http.Request) (string, bool) {
	const prefix = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	user := h[len(prefix):]
	return user, localUserID.MatchString(user)
}

// maxSubjectLength bounds the JWT subject we store as a user id.
const maxSubjectLength = 255

// validSubject accepts any issuer's subject (e.g. "auth0|123") that Postgres
// can store as text.
func validSubject(sub string) bool {
	if sub == "" || len(sub) > maxSubjectLength || !utf8.ValidString(sub) {
		return false
	}
	for _, c := range sub {
		if c == 0 {
			return false
		}
	}
	return true
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Service) maxBodyBytes() int64 {
	if s.MaxBodyBytes > 0 {
		return s.MaxBodyBytes
	}
	return DefaultMaxBodyBytes
}
