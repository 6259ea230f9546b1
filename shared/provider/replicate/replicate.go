// Package replicate is the Replicate adapter for FLUX models: POST
// /v1/models/{owner}/{name}/predictions with `Prefer: wait` (sync mode), then,
// if the prediction is still running, polling its `urls.get` until it ends or
// the call's deadline comes (then it is cancelled, so that nothing is paid
// for an image no one stores). The output is one URI or a list of URIs, each
// an https URL to download or a data: URI.
//
// Outcomes: a prediction that failed with E005 ("flagged as sensitive") is
// filtered with its error text; another failed, cancelled or aborted
// prediction is unavailable; 401 is auth; 402 is quota; 404 is model retired
// (no such model); 422 and other 4xx are invalid requests; 429 on create is
// throttled with Retry-After or the "resets in ~30s" hint; 5xx, timeouts and
// unreadable bodies are unavailable. Polling GETs that answer 429 or 5xx are
// polled again (waiting for one paid prediction, never creating another).
// See package providerhttp for the retry policy.
//
// What Replicate returns is not trusted to steer requests: the token goes
// only to the configured API host, so `urls.get` and `urls.cancel` must be
// https URLs on it (api.replicate.com), and outputs are fetched, without the
// token, only from https URLs on Replicate's file delivery host
// (replicate.delivery and its subdomains, e.g. pbxt.replicate.delivery; the
// HTTP API reference's output examples). Anything else fails the candidate
// with an invalid_request outcome whose reason says what was refused.
package replicate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/provider/catalog"
	"github.com/designerbff/pipeline/shared/provider/providerhttp"
)

// Defaults.
const (
	Name                = catalog.Replicate
	DefaultBaseURL      = "https://api.replicate.com"
	DefaultWait         = 60 * time.Second // Prefer: wait's maximum
	DefaultPollInterval = time.Second
	KeyEnv              = "REPLICATE_API_TOKEN"
	modelParts          = 2 // owner/name
	MaxImages           = 4 // flux-schnell's num_outputs
)

// Options configure the adapter. Zero values take the defaults.
type Options struct {
	APIToken     string
	Model        string // owner/name of an official model (default black-forest-labs/flux-2-pro)
	BaseURL      string // default https://api.replicate.com
	Wait         time.Duration
	PollInterval time.Duration
	// OutputHosts are the hosts output files are fetched from: "host"
	// exactly or ".domain" for any host under it (default
	// DefaultOutputHosts; tests name their fake's host:port).
	OutputHosts []string
	HTTP        providerhttp.Caller
}

// DefaultOutputHosts serve prediction outputs.
var DefaultOutputHosts = []string{"replicate.delivery", ".replicate.delivery"}

// Provider runs predictions on Replicate.
type Provider struct {
	providerhttp.Endpoint
	token       string
	wait, poll  time.Duration
	apiHosts    []string // the configured base URL's host: the only one the token goes to
	outputHosts []string // OutputHosts
	http        providerhttp.Caller
}

var _ generation.Provider = (*Provider)(nil)

// New returns the adapter.
func New(opts Options) *Provider {
	p := &Provider{token: opts.APIToken, Endpoint: providerhttp.NewEndpoint(Name, opts.Model, opts.BaseURL, DefaultBaseURL), wait: opts.Wait, poll: opts.PollInterval, http: opts.HTTP}
	if p.wait <= 0 || p.wait > DefaultWait {
		p.wait = DefaultWait
	}
	if p.poll <= 0 {
		p.poll = DefaultPollInterval
	}
	p.http.Provider = Name
	if u, err := url.Parse(p.URL("")); err == nil {
		p.apiHosts = []string{u.Host}
	}
	p.outputHosts = opts.OutputHosts
	if len(p.outputHosts) == 0 {
		p.outputHosts = DefaultOutputHosts
	}
	return p
}

// Generate makes one image.
func (p *Provider) Generate(ctx context.Context, req generation.ProviderRequest) (generation.Image, error) {
	return providerhttp.One(ctx, req, p.GenerateN)
}

// prediction is replicate-go's Prediction, the fields this adapter reads.
type prediction struct {
	ID     string          `json:"id"`
	Status string          `json:"status"`
	Output json.RawMessage `json:"output"`
	Error  any             `json:"error"`
	URLs   struct {
		Get    string `json:"get"`
		Cancel string `json:"cancel"`
	} `json:"urls"`
}

func (pr prediction) terminal() bool {
	switch pr.Status {
	case "succeeded", "failed", "canceled", "aborted":
		return true
	}
	return false
}

// GenerateN makes n images in one prediction: num_outputs on flux-schnell
// (1–4); other FLUX models make one image per prediction, so n must be 1.
func (p *Provider) GenerateN(ctx context.Context, req generation.ProviderRequest, n int) ([]generation.Image, error) {
	if p.token == "" {
		return nil, p.http.Error(generation.ProviderAuth, KeyEnv+" is not set", 0, nil)
	}
	model := p.Model(req)
	multi := strings.HasSuffix(model, "/flux-schnell")
	if n < 1 || n > MaxImages || (n > 1 && !multi) {
		return nil, p.http.Error(generation.ProviderInvalidRequest, fmt.Sprintf("n=%d is not possible with %s", n, model), 0, nil)
	}
	callCtx, cancel, err := p.http.Context(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	input, refs := p.input(req, model, n, multi)
	pr, err := p.create(callCtx, model, input)
	if err != nil {
		return nil, err
	}
	for !pr.terminal() {
		if pr.URLs.Get == "" {
			return nil, p.http.Error(generation.ProviderUnavailable, "running prediction "+pr.ID+" has no urls.get", 0, nil)
		}
		getURL, err := p.apiURL(pr.URLs.Get)
		if err != nil {
			return nil, p.http.Error(generation.ProviderInvalidRequest, "prediction urls.get "+err.Error(), 0, err)
		}
		select {
		case <-callCtx.Done():
			p.cancel(ctx, pr)
			return nil, p.http.Error(generation.ProviderUnavailable, "timeout: prediction "+pr.ID+" still "+pr.Status+" at the deadline (cancelled)", 0, callCtx.Err())
		case <-time.After(p.poll):
		}
		next, err := p.get(callCtx, getURL)
		if err != nil {
			continue // 429/5xx/transport on a poll: poll again until the deadline
		}
		pr = next
	}
	switch pr.Status {
	case "failed":
		msg := errorText(pr.Error)
		if strings.Contains(msg, "E005") || strings.Contains(strings.ToLower(msg), "flagged as sensitive") {
			return nil, p.http.Error(generation.ProviderFiltered, msg, 0, nil)
		}
		return nil, p.http.Error(generation.ProviderUnavailable, "prediction failed: "+msg, 0, nil)
	case "canceled", "aborted":
		return nil, p.http.Error(generation.ProviderUnavailable, "prediction "+pr.Status, 0, nil)
	}
	return p.outputs(callCtx, pr, model, refs)
}

// input is the model's input. FLUX has no negative prompt; the reference
// goes in as a data: URI (flux-2-*: input_images; flux-1.1-pro:
// image_prompt; flux-schnell takes none). refs counts billed references.
func (p *Provider) input(req generation.ProviderRequest, model string, n int, multi bool) (map[string]any, int) {
	in := map[string]any{
		"prompt":        req.Prompt,
		"seed":          uint64(req.Seed) % (1 << 31),
		"aspect_ratio":  providerhttp.AspectRatio(req.Width, req.Height, []string{"1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21"}),
		"output_format": "png",
	}
	if multi {
		in["num_outputs"] = n
	}
	refs := 0
	if len(req.Reference) > 0 {
		ct := req.ReferenceContentType
		if ct == "" {
			ct = "image/png"
		}
		uri := providerhttp.DataURI(ct, req.Reference)
		switch {
		case strings.Contains(model, "/flux-2-"):
			in["input_images"] = []string{uri}
			refs = 1
		case strings.HasSuffix(model, "/flux-1.1-pro"):
			in["image_prompt"] = uri
			refs = 1
		}
	}
	return in, refs
}

// modelPath is /v1/models/{owner}/{name}/predictions for an official
// model's owner/name, each part a valid model id part and escaped: a model
// cannot name another endpoint (a deployment, another account's model).
func modelPath(model string) (string, error) {
	parts := strings.Split(model, "/")
	if len(parts) != modelParts || !generation.ValidModelID(model) {
		return "", fmt.Errorf("%w: model %q is not owner/name", providerhttp.ErrRefused, providerhttp.Excerpt([]byte(model)))
	}
	return providerhttp.Path("v1", "models", parts[0], parts[1], "predictions")
}

func (p *Provider) create(ctx context.Context, model string, input map[string]any) (prediction, error) {
	path, err := modelPath(model)
	if err != nil {
		return prediction{}, p.http.Error(generation.ProviderInvalidRequest, err.Error(), 0, err)
	}
	body, err := json.Marshal(map[string]any{"input": input})
	if err != nil {
		return prediction{}, fmt.Errorf("replicate: encode request: %w", err)
	}
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL(path), bytes.NewReader(body))
	if err != nil {
		return prediction{}, fmt.Errorf("replicate: build request: %w", err)
	}
	wait := p.wait
	if d, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(d)-time.Second)
	}
	httpReq.Header.Set("Prefer", "wait="+strconv.Itoa(max(1, int(wait.Seconds()))))
	if d, ok := ctx.Deadline(); ok {
		// The prediction ends by itself if this call is gone by then.
		httpReq.Header.Set("Cancel-After", strconv.Itoa(max(1, int(time.Until(d).Seconds())))+"s")
	}
	httpReq.Header.Set("Content-Type", "application/json")
	p.auth(httpReq)
	resp, err := p.http.Do(httpReq)
	if err != nil {
		return prediction{}, err
	}
	if resp.Status != http.StatusCreated && resp.Status != http.StatusOK {
		return prediction{}, p.failure(resp)
	}
	return p.decode(resp)
}

// apiURL is a URL Replicate returned for its own API (urls.get,
// urls.cancel), which the token may be sent to: https on the configured
// API host only.
func (p *Provider) apiURL(raw string) (*url.URL, error) {
	return providerhttp.OnHosts(raw, p.apiHosts, p.http.Local)
}

// get polls a prediction at u, a urls.get that apiURL has accepted.
func (p *Provider) get(ctx context.Context, u *url.URL) (prediction, error) {
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return prediction{}, fmt.Errorf("replicate: build poll: %w", err)
	}
	p.auth(httpReq)
	resp, err := p.http.Do(httpReq)
	if err != nil {
		return prediction{}, err
	}
	if resp.Status != http.StatusOK {
		return prediction{}, p.failure(resp)
	}
	return p.decode(resp)
}

// cancel stops a prediction nobody will wait for, best effort.
func (p *Provider) cancel(ctx context.Context, pr prediction) {
	u, err := p.apiURL(pr.URLs.Cancel)
	if err != nil {
		return // Cancel-After ends it at the deadline anyway
	}
	cctx, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer stop()
	httpReq, err := http.NewRequestWithContext(cctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return
	}
	p.auth(httpReq)
	_, _ = p.http.Do(httpReq)
}

func (p *Provider) auth(r *http.Request) { r.Header.Set("Authorization", "Bearer "+p.token) }

func (p *Provider) decode(resp providerhttp.Response) (prediction, error) {
	var pr prediction
	if err := json.Unmarshal(resp.Body, &pr); err != nil {
		return prediction{}, p.http.Error(generation.ProviderUnavailable, "malformed response: "+providerhttp.Excerpt(resp.Body), 0, err)
	}
	return pr, nil
}

// outputs downloads the prediction's output URIs.
func (p *Provider) outputs(ctx context.Context, pr prediction, model string, refs int) ([]generation.Image, error) {
	var uris []string
	var one string
	if err := json.Unmarshal(pr.Output, &one); err == nil {
		uris = []string{one}
	} else if err := json.Unmarshal(pr.Output, &uris); err != nil {
		return nil, p.http.Error(generation.ProviderUnavailable, "unexpected output: "+providerhttp.Excerpt(pr.Output), 0, err)
	}
	var out []generation.Image
	for _, u := range uris {
		if u == "" {
			continue
		}
		data, err := p.download(ctx, u)
		if err != nil {
			return nil, err
		}
		ct, w, h, err := providerhttp.Sniff(data)
		if err != nil {
			return nil, p.http.Error(generation.ProviderUnavailable, "output is not an image", 0, err)
		}
		out = append(out, generation.Image{Bytes: data, ContentType: ct, Width: w, Height: h, Model: model})
	}
	if len(out) == 0 {
		return nil, p.http.Error(generation.ProviderUnavailable, "prediction "+pr.ID+" succeeded with no output", 0, nil)
	}
	// Reference images are billed once per prediction; put them on the first image.
	for i := range out {
		out[i].CostUSD = catalog.Cost(Name, model, 1, 0)
	}
	out[0].CostUSD += catalog.Cost(Name, model, 1, refs) - catalog.Cost(Name, model, 1, 0)
	return out, nil
}

func (p *Provider) download(ctx context.Context, uri string) ([]byte, error) {
	if strings.HasPrefix(uri, "data:") {
		data, err := providerhttp.DecodeDataURI(uri)
		if err != nil {
			return nil, p.http.Error(generation.ProviderUnavailable, "output data: URI unreadable", 0, err)
		}
		return data, nil
	}
	u, err := providerhttp.OnHosts(uri, p.outputHosts, p.http.Local)
	if err != nil {
		return nil, p.http.Error(generation.ProviderInvalidRequest, "output URL "+err.Error(), 0, err)
	}
	// No Authorization: output files are public and the token is the API's.
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, p.http.Error(generation.ProviderUnavailable, "output URL unusable", 0, err)
	}
	resp, err := p.http.Do(httpReq)
	if err != nil {
		return nil, err
	}
	if resp.Status != http.StatusOK {
		return nil, p.http.Error(generation.ProviderUnavailable, fmt.Sprintf("output download: HTTP %d", resp.Status), 0, nil)
	}
	return resp.Body, nil
}

func errorText(e any) string {
	switch v := e.(type) {
	case nil:
		return "no error given"
	case string:
		return v
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// errorBody is the RFC 7807 style envelope (replicate-go error.go).
type errorBody struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

func (p *Provider) failure(resp providerhttp.Response) error {
	var eb errorBody
	_ = json.Unmarshal(resp.Body, &eb) // a body that is not the envelope falls back to the status
	reason := strings.TrimSpace(strings.TrimSuffix(eb.Title+": "+eb.Detail, ": "))
	reason = strings.TrimPrefix(reason, ": ")
	if reason == "" {
		reason = fmt.Sprintf("HTTP %d: %s", resp.Status, providerhttp.Excerpt(resp.Body))
	}
	cause := fmt.Errorf("replicate: HTTP %d", resp.Status)
	switch resp.Status {
	case http.StatusNotFound:
		return p.http.Error(generation.ProviderModelRetired, reason, 0, cause)
	case http.StatusTooManyRequests:
		wait := providerhttp.RetryAfter(resp.Header, time.Now())
		if wait == 0 {
			wait = providerhttp.RetryAfterText(eb.Detail)
		}
		return p.http.Error(generation.ProviderThrottled, reason, wait, cause)
	}
	return p.http.Error(providerhttp.KindOfStatus(resp.Status), reason, 0, cause)
}
