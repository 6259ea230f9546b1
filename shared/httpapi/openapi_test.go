package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/stack/stacktest"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/httpapi"
)

// Every route the router serves is in the OpenAPI document, and every
// operation of the document is served: both come from one table (the
// router's registered patterns), so a route added without its contract
// fails here.
func TestEveryRouteIsDocumented(t *testing.T) {
	t.Parallel()
	contract := stacktest.NewContract(t)
	patterns := (&httpapi.Service{}).Patterns()
	slices.Sort(patterns)
	require.GreaterOrEqual(t, len(patterns), 10)
	for _, p := range patterns {
		require.Contains(t, contract.Operations(), p, "the router serves %s but the OpenAPI document (shared/httpapi/openapi.json) does not describe it", p)
	}
	require.Equal(t, patterns, contract.Operations(), "the OpenAPI document describes routes the router does not serve")
	// Every operation names its errors in the one error shape.
	for path, item := range contract.Doc.Paths.Map() {
		for method, op := range item.Operations() {
			require.NotEmpty(t, op.OperationID, "%s %s", method, path)
			if path != "/openapi.json" {
				require.NotNil(t, op.Responses.Value("401"), "%s %s documents its 401", method, path)
			}
		}
	}
}

// GET /openapi.json serves the embedded document without authentication.
func TestOpenAPIIsServed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := e.do(t, request{method: http.MethodGet, path: "/openapi.json"})
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Header().Get("Content-Type"), "application/json")
	require.Equal(t, httpapi.OpenAPI, rec.Body.Bytes())
	var doc map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	require.Equal(t, "3.1.0", doc["openapi"])
}

// Heads over the handler's bounds are answered in the JSON error shape by
// the server `make serve` runs (Service.Server), not by net/http's plain
// text; only a head past the transport's own 1 MiB bound still is.
func TestOversizedHeadsAnswerJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	srv := e.svc.Server("127.0.0.1:0")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	base := "http://" + l.Addr().String()

	send := func(path string, header map[string]string) (int, []byte) {
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer alice")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Contains(t, resp.Header.Get("Content-Type"), "application/json", "body: %s", body)
		return resp.StatusCode, body
	}
	status, body := send("/v1/generations", map[string]string{"X-Padding": strings.Repeat("a", httpapi.MaxHeaderBytes)})
	requireError(t, status, http.Header{"Content-Type": {"application/json"}}, body, http.StatusRequestHeaderFieldsTooLarge, generation.ETOOLARGE, "headers")
	status, body = send("/v1/generations/"+strings.Repeat("x", httpapi.MaxRequestURIByte), nil)
	requireError(t, status, http.Header{"Content-Type": {"application/json"}}, body, http.StatusRequestURITooLong, generation.EINVALID, "path")

	// What net/http answers before any handler runs stays plain text (a
	// malformed header line): documented, not controllable.
	conn, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write([]byte("GET /v1/generations HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"))
	require.NoError(t, err)
	raw, _ := io.ReadAll(conn)
	require.True(t, bytes.HasPrefix(raw, []byte("HTTP/1.1 400")), "%s", raw)
}

// A 401 says how to authenticate, on every authenticated route.
func TestUnauthorizedSaysHowToAuthenticate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, p := range e.svc.Patterns() {
		method, path, _ := strings.Cut(p, " ")
		if path == "/openapi.json" {
			continue
		}
		path = strings.NewReplacer("{id}", generation.NewID(), "{imageId}", generation.NewID(), "{providerId}", "procedural", "{provider}", "procedural").Replace(path)
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		apiErr := requireError(t, rec.Code, rec.Header(), rec.Body.Bytes(), http.StatusUnauthorized, generation.EUNAUTHORIZED, "")
		require.Contains(t, apiErr.Error.Message, "Authorization: Bearer", p)
	}
}
