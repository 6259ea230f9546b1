package stacktest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/httpapi"
)

// Contract checks real traffic against the API's OpenAPI document
// (httpapi.OpenAPI): every response of a documented route must match the
// document (status, headers, body schema), and so must every request the
// server accepted (a status below 400). A request the server refused is not
// checked: refusing what the document does not allow is its point.
type Contract struct {
	Doc    *openapi3.T
	router routers.Router

	mu   sync.Mutex
	seen map[string][]int // operation ("GET /v1/generations/{id}") → statuses answered
}

// Server-sent events and the dashboard page are text: their schema is a string.
func init() {
	openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
}

// NewContract loads and validates the document.
func NewContract(t testing.TB) *Contract {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpapi.OpenAPI)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()), "the OpenAPI document is not valid OpenAPI")
	// Match paths on any host: the test servers listen on random ports.
	routed := *doc
	routed.Servers = nil
	router, err := legacy.NewRouter(&routed)
	require.NoError(t, err)
	return &Contract{Doc: doc, router: router, seen: map[string][]int{}}
}

// Operations are the document's operations as "METHOD /path/{param}", the
// form of the router's patterns.
func (c *Contract) Operations() []string {
	var ops []string
	for path, item := range c.Doc.Paths.Map() {
		for method := range item.Operations() {
			ops = append(ops, method+" "+path)
		}
	}
	slices.Sort(ops)
	return ops
}

// Seen returns, per operation, the statuses answered through Handler.
func (c *Contract) Seen() map[string][]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string][]int{}
	for k, v := range c.seen {
		out[k] = slices.Clone(v)
	}
	return out
}

// Handler serves next and checks each exchange of a documented route,
// failing t on a mismatch. Requests to routes the document lacks pass
// unchecked (TestEveryRouteIsDocumented catches those routes).
func (c *Contract) Handler(t testing.TB, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("contract: read request body: %v", err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)

		check := r.Clone(context.Background())
		check.Body = io.NopCloser(bytes.NewReader(body))
		// The router matches on the URL as a client addressed it.
		check.URL.Scheme, check.URL.Host = "http", r.Host
		route, params, err := c.router.FindRoute(check)
		if err == nil {
			op := strings.ToUpper(route.Method) + " " + route.Path
			c.mu.Lock()
			c.seen[op] = append(c.seen[op], rec.Code)
			c.mu.Unlock()
			in := &openapi3filter.RequestValidationInput{
				Request: check, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true},
			}
			if rec.Code < 400 {
				if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
					t.Errorf("contract: %s %s was accepted (%d) but does not match the document: %v", r.Method, r.URL, rec.Code, err)
				}
			}
			out := &openapi3filter.ResponseValidationInput{
				RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
				Body: io.NopCloser(bytes.NewReader(rec.Body.Bytes())), Options: in.Options,
			}
			if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
				t.Errorf("contract: the answer %d to %s %s does not match the document: %v\nbody: %s", rec.Code, r.Method, r.URL.Path, err, excerpt(rec.Body.Bytes()))
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

func excerpt(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}
