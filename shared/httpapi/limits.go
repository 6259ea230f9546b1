package httpapi

import (
	"fmt"
	"net/http"
	"time"

	"github.com/designerbff/pipeline/shared/generation"
)

// Bounds of a request's head that the handler enforces itself, in the JSON
// error shape. net/http's own bounds (Server.MaxHeaderBytes) answer in
// plain text before any handler runs, so the server built by Server sets
// its bound well above these and leaves the answer to the handler.
const (
	MaxHeaderBytes    = 16 << 10 // all header names and values
	MaxRequestURIByte = 8 << 10
	// transportHeaderBytes is Server's MaxHeaderBytes: only a head beyond
	// it gets net/http's plain-text 431.
	transportHeaderBytes = 1 << 20
)

// Server is the net/http server of the local API (make serve): the routes
// behind the head bounds above, with net/http's own bound far enough
// beyond them that an oversized head is answered by the handler in JSON.
// What net/http still answers itself, in plain text, before a handler can
// run: a malformed request line or header (400), a head over 1 MiB (431),
// an unsupported HTTP version (505) and TLS on a plain port. In AWS, API
// Gateway answers those itself.
func (s *Service) Server(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    transportHeaderBytes,
	}
}

// recoverJSON bounds the request head and turns a handler's panic into the
// JSON 500 (net/http would log it and drop the connection).
func recoverJSON(s *Service, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.RequestURI) > MaxRequestURIByte {
			writeJSON(w, http.StatusRequestURITooLong, errorBody{Error: errorDetail{
				Code: generation.EINVALID, Field: "path", Message: fmt.Sprintf("the request URI is longer than %d bytes", MaxRequestURIByte)}})
			return
		}
		if n := headerBytes(r.Header); n > MaxHeaderBytes {
			writeJSON(w, http.StatusRequestHeaderFieldsTooLarge, errorBody{Error: errorDetail{
				Code: generation.ETOOLARGE, Field: "headers", Message: fmt.Sprintf("the request headers are %d bytes, more than %d", n, MaxHeaderBytes)}})
			return
		}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.writeError(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// headerBytes is the size of the header block as sent (name, ": ", value,
// CRLF per line).
func headerBytes(h http.Header) int {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}
