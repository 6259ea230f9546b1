package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/designerbff/pipeline/shared/generation"
)

// HandleAPIGateway serves an API Gateway HTTP API (payload v2) event through
// the same routes as Handler. The identity is the JWT authorizer's `sub`
// claim; the Authorization header is never read as one here, whatever
// LocalAuth says.
func (s *Service) HandleAPIGateway(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	r, err := requestFromEvent(ctx, req)
	rec := newRecorder()
	if err != nil {
		// Only a malformed event gets here; answer it like any bad request.
		s.writeError(rec, &http.Request{Method: req.RequestContext.HTTP.Method, URL: &url.URL{Path: req.RawPath}}, err)
		return rec.apiGatewayResponse(), nil
	}
	if jwt := req.RequestContext.Authorizer; jwt != nil && jwt.JWT != nil {
		if sub := jwt.JWT.Claims["sub"]; validSubject(sub) {
			r = r.WithContext(withClaims(withUser(r.Context(), sub), jwt.JWT.Claims))
		}
	}
	s.routes().ServeHTTP(rec, r)
	return rec.apiGatewayResponse(), nil
}

// requestFromEvent rebuilds the HTTP request API Gateway received.
func requestFromEvent(ctx context.Context, req events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		decoded, err := base64.StdEncoding.DecodeString(req.Body)
		if err != nil {
			return nil, generation.FieldError("body", "is not valid base64")
		}
		body = decoded
	}
	path := req.RawPath
	if path == "" {
		path = req.RequestContext.HTTP.Path
	}
	// A named stage (not $default) prefixes the raw path with its name.
	if st := req.RequestContext.Stage; st != "" && st != "$default" {
		if rest, ok := strings.CutPrefix(path, "/"+st); ok && (rest == "" || rest[0] == '/') {
			path = rest
		}
	}
	if path == "" {
		path = "/"
	}
	target := path
	if req.RawQueryString != "" {
		target += "?" + req.RawQueryString
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, generation.FieldError("path", "is not a valid request URI")
	}
	method := req.RequestContext.HTTP.Method
	if method == "" {
		method = http.MethodGet
	}
	r, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	r.RequestURI = target
	for k, v := range req.Headers {
		// HTTP API joins repeated headers with commas; one value keeps that.
		r.Header.Set(k, v)
	}
	if len(req.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(req.Cookies, "; "))
	}
	r.Host = req.RequestContext.DomainName
	if h := r.Header.Get("Host"); h != "" {
		r.Host = h
	}
	r.ContentLength = int64(len(body))
	r.RemoteAddr = req.RequestContext.HTTP.SourceIP
	if req.RequestContext.HTTP.Protocol != "" {
		if major, minor, ok := http.ParseHTTPVersion(req.RequestContext.HTTP.Protocol); ok {
			r.Proto, r.ProtoMajor, r.ProtoMinor = req.RequestContext.HTTP.Protocol, major, minor
		}
	}
	return r, nil
}

// recorder is a minimal in-memory ResponseWriter (httptest's would register
// test flags in the production binary).
type recorder struct {
	header      http.Header
	body        bytes.Buffer
	code        int
	wroteHeader bool
}

func newRecorder() *recorder { return &recorder{header: http.Header{}, code: http.StatusOK} }

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.wroteHeader {
		return
	}
	r.code, r.wroteHeader = code, true
}

func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}

// replay copies the recorded response to w.
func (r *recorder) replay(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header()[k] = v
	}
	w.WriteHeader(r.code)
	_, _ = w.Write(r.body.Bytes())
}

// apiGatewayResponse converts the recorded response. Text bodies (JSON,
// text/*) go as they are; anything else is base64 so bytes survive.
func (r *recorder) apiGatewayResponse() events.APIGatewayV2HTTPResponse {
	resp := events.APIGatewayV2HTTPResponse{
		StatusCode: r.code,
		Headers:    map[string]string{},
	}
	for k, v := range r.header {
		if http.CanonicalHeaderKey(k) == "Set-Cookie" {
			resp.Cookies = append(resp.Cookies, v...)
			continue
		}
		resp.Headers[k] = strings.Join(v, ",")
	}
	if r.body.Len() > 0 && resp.Headers["Content-Type"] == "" {
		resp.Headers["Content-Type"] = http.DetectContentType(r.body.Bytes())
	}
	resp.Headers["Content-Length"] = strconv.Itoa(r.body.Len())
	if r.body.Len() == 0 || isText(resp.Headers["Content-Type"]) && utf8.Valid(r.body.Bytes()) {
		resp.Body = r.body.String()
	} else {
		resp.Body = base64.StdEncoding.EncodeToString(r.body.Bytes())
		resp.IsBase64Encoded = true
	}
	return resp
}

func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return strings.HasPrefix(mt, "text/") || mt == "application/json" || strings.HasSuffix(mt, "+json")
}
