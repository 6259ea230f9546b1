// Package providerhttp is what the hosted image adapters share: one bounded
// HTTP attempt per call, the mapping of transport failures and statuses onto
// generation.ProviderError kinds, wait hints, and image sniffing.
//
// Transient-failure policy (one for every adapter): an adapter makes ONE
// attempt and never loops. Throttling (429) becomes ProviderThrottled with the
// provider's wait hint in RetryAfter, and 5xx, 408, transport errors and
// timeouts become ProviderUnavailable; the state machine's Retry on those
// named errors (jittered exponential backoff, statemachine/generation.asl.json)
// is the only retry. Each attempt's timeout is the Lambda deadline less a
// margin for storing the image, capped by MaxCall, so an attempt that runs out
// of time reports ProviderUnavailable instead of being killed mid-write. No
// other 4xx is retried.
package providerhttp

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // sniff JPEG
	_ "image/png"  // sniff PNG
	"io"
	"math"
	"mime/multipart"
	"net"
	"net/http"
	"net/netip"
	"net/textproto"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "golang.org/x/image/webp" // sniff WebP

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/provider/catalog"
)

// Defaults of Caller.
const (
	DefaultMaxCall  = 90 * time.Second
	DefaultMargin   = 10 * time.Second
	DefaultMaxBytes = 64 << 20
)

// Caller makes one bounded HTTP attempt for a provider.
//
// Outbound calls go only where they should: without Local, a request that
// is not https is refused before it is sent, and the default client dials
// no loopback, private, link-local or otherwise non-public address (checked
// on the resolved address, so DNS cannot point it inwards) and follows no
// redirect to another host or scheme. A refusal is a ProviderInvalidRequest
// whose reason says what was refused: retrying cannot change it.
type Caller struct {
	Provider string
	// Client sends the requests (default: NewClient(Local), no timeout of
	// its own: the context bounds it). A client given here brings its own
	// dialing and redirect policy.
	Client *http.Client
	// Local allows plain http and loopback, private and link-local
	// addresses: tests against httptest servers and local stand-ins only,
	// never a deployment.
	Local    bool
	MaxCall  time.Duration // cap of one attempt (default 90 s)
	Margin   time.Duration // time left before the caller's deadline (default 10 s)
	MaxBytes int64         // response size limit (default 64 MiB)
}

// Response is a read HTTP response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Context bounds one attempt: MaxCall from now, or the caller's deadline less
// Margin if that is sooner. With no time left it returns an unavailable error.
func (c Caller) Context(ctx context.Context) (context.Context, context.CancelFunc, error) {
	maxCall := c.MaxCall
	if maxCall <= 0 {
		maxCall = DefaultMaxCall
	}
	margin := c.Margin
	if margin <= 0 {
		margin = DefaultMargin
	}
	deadline := time.Now().Add(maxCall)
	if d, ok := ctx.Deadline(); ok && d.Add(-margin).Before(deadline) {
		deadline = d.Add(-margin)
	}
	if !time.Now().Before(deadline) {
		return ctx, func() {}, c.Error(generation.ProviderUnavailable, "no time left before the deadline for a provider call", 0, context.DeadlineExceeded)
	}
	callCtx, cancel := context.WithDeadline(ctx, deadline)
	return callCtx, cancel, nil
}

// Do sends req (whose context should come from Context) and reads the body.
// A transport failure or timeout is a ProviderUnavailable error.
func (c Caller) Do(req *http.Request) (Response, error) {
	if req.URL.Scheme != "https" && !c.Local {
		return Response{}, c.Error(generation.ProviderInvalidRequest, "refused: "+req.URL.Scheme+" URL, only https is called", 0, nil)
	}
	client := c.Client
	if client == nil {
		client = publicClient
		if c.Local {
			client = localClient
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		return Response{}, c.transport(req, err)
	}
	defer resp.Body.Close()
	limit := c.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return Response{}, c.transport(req, err)
	}
	if int64(len(body)) > limit {
		return Response{}, c.Error(generation.ProviderInvalidRequest, fmt.Sprintf("response larger than %d bytes", limit), 0, nil)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

func (c Caller) transport(req *http.Request, err error) error {
	if errors.Is(err, ErrRefused) {
		return c.Error(generation.ProviderInvalidRequest, Excerpt([]byte(err.Error())), 0, err)
	}
	reason := "transport error"
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(req.Context().Err(), context.DeadlineExceeded) {
		reason = "timeout"
	}
	return c.Error(generation.ProviderUnavailable, reason, 0, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err))
}

// Error builds the provider's typed outcome.
func (c Caller) Error(kind generation.ProviderErrorKind, reason string, retryAfter time.Duration, err error) *generation.ProviderError {
	return &generation.ProviderError{Kind: kind, Provider: c.Provider, Reason: reason, RetryAfter: retryAfter, Err: err}
}

// KindOfStatus is the outcome an HTTP status means when the body says
// nothing more specific: 401/403 auth, 402 quota, 408/409 and 5xx
// unavailable (retried), 429 throttled (retried), other 4xx invalid request.
func KindOfStatus(status int) generation.ProviderErrorKind {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return generation.ProviderAuth
	case status == http.StatusPaymentRequired:
		return generation.ProviderQuota
	case status == http.StatusTooManyRequests:
		return generation.ProviderThrottled
	case status == http.StatusRequestTimeout || status == http.StatusConflict || status >= 500:
		return generation.ProviderUnavailable
	default:
		return generation.ProviderInvalidRequest
	}
}

// RetryAfter reads the wait hint of a response: Retry-After-Ms
// (milliseconds), else Retry-After (seconds, possibly fractional, or an HTTP
// date). 0 when there is none.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 && !math.IsInf(ms, 0) {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 || math.IsInf(s, 0) || math.IsNaN(s) {
			return 0
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// waitInText finds "in 26.604s", "in ~30s" or "retryDelay 38s" style hints.
var waitInText = regexp.MustCompile(`(?i)\bin\s+~?(\d+(?:\.\d+)?)\s*(ms|s|seconds?)\b`)

// RetryAfterText reads a wait hint from an error message ("Please try again
// in 26.604s", "Your rate limit resets in ~30s"); 0 when there is none.
func RetryAfterText(msg string) time.Duration {
	m := waitInText.FindStringSubmatch(msg)
	if m == nil {
		return 0
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0
	}
	if strings.EqualFold(m[2], "ms") {
		return time.Duration(f * float64(time.Millisecond))
	}
	return time.Duration(f * float64(time.Second))
}

// Excerpt is the start of a body for a reason or an error message.
func Excerpt(body []byte) string {
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// Sniff decodes an image's header: its content type and size. Bytes that
// are not a PNG, JPEG or WebP image are an error.
func Sniff(data []byte) (contentType string, width, height int, err error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return "", 0, 0, fmt.Errorf("not an image (%d bytes): %w", len(data), err)
	}
	return "image/" + format, cfg.Width, cfg.Height, nil
}

// DataURI encodes bytes as a data: URI.
func DataURI(contentType string, data []byte) string {
	return "data:" + contentType + ";base64," + base64.StdEncoding.EncodeToString(data)
}

// DecodeDataURI decodes a base64 data: URI.
func DecodeDataURI(uri string) ([]byte, error) {
	rest, ok := strings.CutPrefix(uri, "data:")
	if !ok {
		return nil, errors.New("not a data: URI")
	}
	meta, payload, ok := strings.Cut(rest, ",")
	if !ok || !strings.HasSuffix(meta, ";base64") {
		return nil, errors.New("data: URI is not base64")
	}
	return base64.StdEncoding.DecodeString(payload)
}

// AspectRatio is the closest of the allowed "W:H" ratios to width×height
// (1:1 when either is 0).
func AspectRatio(width, height int, allowed []string) string {
	if width <= 0 || height <= 0 || len(allowed) == 0 {
		return "1:1"
	}
	want := math.Log(float64(width) / float64(height))
	best, bestDiff := allowed[0], math.Inf(1)
	for _, a := range allowed {
		w, h, ok := strings.Cut(a, ":")
		if !ok {
			continue
		}
		wf, err1 := strconv.ParseFloat(w, 64)
		hf, err2 := strconv.ParseFloat(h, 64)
		if err1 != nil || err2 != nil || wf <= 0 || hf <= 0 {
			continue
		}
		if d := math.Abs(math.Log(wf/hf) - want); d < bestDiff {
			best, bestDiff = a, d
		}
	}
	return best
}

// WriteImagePart adds image to a multipart form as the file field name,
// named reference.<ext> after its content type (PNG when unknown): the
// edit and image-to-image endpoints read the format from both.
func WriteImagePart(mw *multipart.Writer, name string, image []byte, contentType string) error {
	if contentType == "" {
		contentType = "image/png"
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="`+name+`"; filename="reference.`+strings.TrimPrefix(contentType, "image/")+`"`)
	h.Set("Content-Type", contentType)
	part, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	_, err = part.Write(image)
	return err
}

// Endpoint is what every hosted adapter knows of its provider: the name its
// outcomes are stored under, the model a request without one gets, and the
// API's base URL. Adapters embed it for Name and DefaultModel.
type Endpoint struct {
	name, model, base string
}

// NewEndpoint names a provider's endpoint from the adapter's options: an
// empty model is the catalog's current default for the provider, an empty
// baseURL is defaultBaseURL (a trailing slash is dropped).
func NewEndpoint(name, model, baseURL, defaultBaseURL string) Endpoint {
	if model == "" {
		model = catalog.DefaultModel(name)
	}
	if baseURL == "" {
		baseURL = defaultBaseURL
	}
	return Endpoint{name: name, model: model, base: strings.TrimRight(baseURL, "/")}
}

// Name is the provider id.
func (e Endpoint) Name() string { return e.name }

// DefaultModel is the configured model.
func (e Endpoint) DefaultModel() string { return e.model }

// Model is the request's model, or the configured one when it names none.
func (e Endpoint) Model(req generation.ProviderRequest) string {
	if req.Model != "" {
		return req.Model
	}
	return e.model
}

// URL is path on the API's base URL.
func (e Endpoint) URL(path string) string { return e.base + path }

// One is Generate for an adapter that makes images n at a time: one call
// for one image, whose cost carries every image the call made (some APIs
// bill for more than asked).
func One(ctx context.Context, req generation.ProviderRequest, generateN func(context.Context, generation.ProviderRequest, int) ([]generation.Image, error)) (generation.Image, error) {
	imgs, err := generateN(ctx, req, 1)
	if err != nil {
		return generation.Image{}, err
	}
	first := imgs[0]
	for _, extra := range imgs[1:] {
		first.CostUSD += extra.CostUSD
	}
	return first, nil
}

// ErrRefused is wrapped by every refused destination: a non-public address,
// a redirect to another host, a provider-returned URL off its allowed hosts.
var ErrRefused = errors.New("refused")

// The default clients: one for deployments, one for Caller.Local.
var (
	publicClient = NewClient(false)
	localClient  = NewClient(true)
)

// NewClient is an HTTP client that follows redirects only on the same
// scheme and host (so neither a token nor a fetch goes elsewhere) and,
// unless allowPrivate, dials only public addresses. It uses no proxy: the
// address it dials is the provider's.
func NewClient(allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		dialer.Control = publicOnly
	}
	return &http.Client{
		Transport: &http.Transport{
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
		CheckRedirect: sameOrigin,
	}
}

// sameOrigin allows a redirect only to the first request's scheme and host.
func sameOrigin(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return fmt.Errorf("%w: more than 5 redirects", ErrRefused)
	}
	if from := via[0].URL; req.URL.Scheme != from.Scheme || req.URL.Host != from.Host {
		return fmt.Errorf("%w: redirect from %s to another host", ErrRefused, from.Host)
	}
	return nil
}

// nonPublic are ranges that netip's predicates do not name: "this network",
// carrier-grade NAT (RFC 6598), benchmarking (RFC 2544) and NAT64's
// local-use prefix.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
}

// publicOnly is the dialer's Control hook: it sees the resolved address
// just before connecting.
func publicOnly(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: address %q", ErrRefused, address)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: address %q", ErrRefused, address)
	}
	ip = ip.Unmap()
	if !ip.IsGlobalUnicast() || ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() {
		return fmt.Errorf("%w: %s is not a public address", ErrRefused, ip)
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return fmt.Errorf("%w: %s is not a public address", ErrRefused, ip)
		}
	}
	return nil
}

// OnHosts checks a URL a provider returned: it must parse, be https (or
// http too when local) and name one of hosts, where "example.com" is that
// host exactly and ".example.com" any host under it. The error wraps
// ErrRefused and names what was wrong, not the URL.
func OnHosts(raw string, hosts []string, local bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: not a URL", ErrRefused)
	}
	if u.Scheme != "https" && !(local && u.Scheme == "http") {
		return nil, fmt.Errorf("%w: %s URL, only https", ErrRefused, Excerpt([]byte(u.Scheme)))
	}
	if u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("%w: not an absolute URL without credentials", ErrRefused)
	}
	host := strings.ToLower(u.Host)
	for _, h := range hosts {
		h = strings.ToLower(h)
		if host == h || strings.HasPrefix(h, ".") && strings.HasSuffix(host, h) && u.Port() == "" {
			return u, nil
		}
	}
	return nil, fmt.Errorf("%w: host %s is not one of %s", ErrRefused, Excerpt([]byte(u.Host)), strings.Join(hosts, ", "))
}

// Path joins path segments, each escaped with url.PathEscape, so that a
// value (a model id) stays one segment: "/", "?", "#" and "%" cannot change
// which endpoint is called. "." and ".." are refused: servers resolve them.
func Path(segments ...string) (string, error) {
	var b strings.Builder
	for _, seg := range segments {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("%w: path segment %q", ErrRefused, seg)
		}
		b.WriteString("/" + url.PathEscape(seg))
	}
	return b.String(), nil
}
