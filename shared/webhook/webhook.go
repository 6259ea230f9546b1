// Package webhook delivers completion notifications: a signed POST to a
// generation's settings.webhookUrl when it is final. It adapts the outbox in
// Postgres (generation.WebhookOutbox, filled by a trigger in the transaction
// that makes a generation final) to the receivers' HTTP endpoints.
//
// Who drives it: the deliver function attempts its generation's notification
// right after the delivery commits; the recalibrate schedule (AWS) and the
// local stack's loop (`make serve`) send every notification that is due,
// which covers retries and the generations finalised elsewhere (MarkFailed,
// the execution-status handler, the stall sweep). Claims are leased in the
// database, so drivers running at once never send one notification twice at
// the same time; a receiver may still see a notification twice (an attempt
// whose answer was lost), and tells by the Webhook-Id header.
//
// It is written here rather than taken from a library because it is small
// and must go through the same outbound guard as the provider calls
// (providerhttp: https only, public addresses only, no redirect elsewhere)
// plus the deployment's host allow-list.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/provider/providerhttp"
)

// Headers of a notification.
const (
	HeaderID        = "Webhook-Id"        // the delivery's id: the same on every attempt
	HeaderTimestamp = "Webhook-Timestamp" // Unix seconds of this attempt
	HeaderSignature = "Webhook-Signature" // "v1=" + hex HMAC-SHA256(secret, timestamp + "." + body)
)

// Defaults of Dispatcher.
const (
	DefaultMaxAttempts = 8
	DefaultBackoff     = 30 * time.Second // the wait after the first failure; doubles per attempt
	MaxBackoff         = 6 * time.Hour
	DefaultLease       = 2 * time.Minute
	DefaultTimeout     = 10 * time.Second
	// BatchSize is the most notifications one RunDue claims.
	BatchSize = 50
)

// Sign is the Webhook-Signature value of body sent at timestamp (Unix
// seconds): "v1=" and the hex HMAC-SHA256 keyed by secret over the
// timestamp, a dot and the body. Signing the timestamp lets a receiver
// refuse replays of an old notification.
func Sign(secret []byte, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(strconv.FormatInt(timestamp, 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

// NewClient is the client notifications go through: providerhttp's guarded
// client (public addresses only unless allowPrivate, redirects only to the
// same origin), trusting roots in addition to the system's pool when given
// (tests trust their httptest TLS server that way).
func NewClient(allowPrivate bool, roots *x509.CertPool) *http.Client {
	c := providerhttp.NewClient(allowPrivate)
	if roots != nil {
		if t, ok := c.Transport.(*http.Transport); ok {
			t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		}
	}
	return c
}

// Dispatcher sends the notifications that are due and records each attempt.
type Dispatcher struct {
	Outbox generation.WebhookOutbox
	// Secret keys the signatures (WEBHOOK_SIGNING_SECRET).
	Secret []byte
	// Hosts are the hosts a notification may go to (WEBHOOK_ALLOWED_HOSTS),
	// checked again at sending: a URL stored before the list shrank is not
	// called.
	Hosts []string
	// Client sends (nil: NewClient(false, nil), the public-only guard).
	Client *http.Client
	// MaxAttempts before a notification is failed for good (default 8).
	MaxAttempts int
	// Backoff is the wait after the first failed attempt, doubled after
	// each further one up to MaxBackoff (default 30 s).
	Backoff time.Duration
	Logger  *slog.Logger
}

// RunDue claims the notifications due at now (only generationID's when it
// is set), sends each once and records the attempt: delivered on a 2xx,
// otherwise due again after the backoff, or failed after MaxAttempts. It
// returns how many it attempted; an error is the outbox's (a receiver's
// failure is recorded, never returned).
func (d *Dispatcher) RunDue(ctx context.Context, now time.Time, generationID string) (int, error) {
	due, err := d.Outbox.ClaimWebhooks(ctx, now, DefaultLease, BatchSize, generationID)
	if err != nil {
		return 0, err
	}
	for _, n := range due {
		attempt := d.send(ctx, n)
		delivered := attempt.Error == ""
		var next *time.Time
		if !delivered && n.Attempts+1 < d.maxAttempts() {
			at := attempt.At.Add(d.backoff(n.Attempts + 1))
			next = &at
		}
		if !delivered {
			d.logger().WarnContext(ctx, "webhook attempt failed", "generation", n.GenerationID,
				"attempt", n.Attempts+1, "status", attempt.StatusCode, "error", attempt.Error, "retry", next != nil)
		}
		if err := d.Outbox.RecordWebhookAttempt(ctx, n, attempt, delivered, next); err != nil {
			return len(due), err
		}
	}
	return len(due), nil
}

// send makes one attempt. Its timestamp is the clock's at sending, not the
// claim's now (which only decides what is due), so a retry is signed
// afresh and a receiver can bound a notification's age.
func (d *Dispatcher) send(ctx context.Context, n generation.WebhookDelivery) generation.WebhookAttempt {
	start := time.Now()
	a := generation.WebhookAttempt{At: start}
	defer func() { a.Duration = time.Since(start) }()
	u, err := providerhttp.OnHosts(n.URL, d.Hosts, false)
	if err != nil {
		a.Error = err.Error()
		return a
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(n.Body))
	if err != nil {
		a.Error = "build request: " + err.Error()
		return a
	}
	ts := start.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "designer-bff-webhooks/1")
	req.Header.Set(HeaderID, strconv.FormatInt(n.ID, 10))
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(d.Secret, ts, n.Body))
	client := d.Client
	if client == nil {
		client = defaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		// Without the URL (url.Error names it): the record outlives an
		// erased generation's address.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		a.Error = "request failed: " + err.Error()
		return a
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	a.StatusCode = resp.StatusCode
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		a.Error = fmt.Sprintf("receiver answered %d", resp.StatusCode)
	}
	return a
}

var defaultClient = NewClient(false, nil)

func (d *Dispatcher) maxAttempts() int {
	if d.MaxAttempts > 0 {
		return d.MaxAttempts
	}
	return DefaultMaxAttempts
}

// backoff is the wait after failed attempt number n (1-based).
func (d *Dispatcher) backoff(n int) time.Duration {
	b := d.Backoff
	if b <= 0 {
		b = DefaultBackoff
	}
	for i := 1; i < n && b < MaxBackoff; i++ {
		b *= 2
	}
	return min(b, MaxBackoff)
}

func (d *Dispatcher) logger() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.Default()
}
