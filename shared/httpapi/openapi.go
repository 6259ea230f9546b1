package httpapi

import (
	_ "embed"
	"net/http"
)

// OpenAPI is the API's contract: an OpenAPI 3.1 document of every route
// (request and response schemas, the error shape, auth) and of the
// completion webhook, served at GET /openapi.json. Tests validate real
// requests and responses of every route against it and fail when the router
// serves a route it does not describe.
//
//go:embed openapi.json
var OpenAPI []byte

// serveOpenAPI serves GET /openapi.json, without authentication: the
// contract is public.
func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(OpenAPI)
}
