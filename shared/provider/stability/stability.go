// Package stability is the Stability AI adapter: POST
// /v2beta/stable-image/generate/sd3 (multipart/form-data only), text-to-image,
// or image-to-image with the reference image and a strength. It asks for raw
// bytes (accept: image/*) and also reads the base64 JSON form.
//
// Outcomes: 403 `content_moderation`, or a 200 whose finish-reason is
// CONTENT_FILTERED, is filtered (a CONTENT_FILTERED image is never
// delivered); 401 is auth; 402 is quota (out of credits); 404/410 is model
// retired; 429 is throttled, with the documented 60-second lockout as the
// wait when no Retry-After comes; 400/413/422 are invalid requests; 5xx,
// timeouts and empty or unreadable bodies are unavailable. See package
// providerhttp for the retry policy.
package stability

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/provider/catalog"
	"github.com/designerbff/pipeline/shared/provider/providerhttp"
)

// Defaults.
const (
	Name            = catalog.Stability
	DefaultBaseURL  = "https://api.stability.ai"
	DefaultStrength = 0.6 // image-to-image: keep the garment, change the rest
	KeyEnv          = "STABILITY_API_KEY"
	// LockoutWait is how long a 429 locks the key out (Stability's support
	// article), used when the 429 carries no Retry-After.
	LockoutWait = 60 * time.Second
	MaxImages   = 4 // per GenerateN
	maxSeed     = 4294967294
)

var aspectRatios = []string{"21:9", "16:9", "3:2", "5:4", "1:1", "4:5", "2:3", "9:16", "9:21"}

// Options configure the adapter. Zero values take the defaults.
type Options struct {
	APIKey   string
	Model    string  // sd3.5-large (default), sd3.5-large-turbo, sd3.5-medium, …
	BaseURL  string  // default https://api.stability.ai
	Strength float64 // image-to-image strength 0–1 (default 0.6)
	HTTP     providerhttp.Caller
}

// Provider calls Stability's Stable Image API.
type Provider struct {
	providerhttp.Endpoint
	key      string
	strength float64
	http     providerhttp.Caller
}

var _ generation.Provider = (*Provider)(nil)

// New returns the adapter.
func New(opts Options) *Provider {
	p := &Provider{key: opts.APIKey, Endpoint: providerhttp.NewEndpoint(Name, opts.Model, opts.BaseURL, DefaultBaseURL), strength: opts.Strength, http: opts.HTTP}
	if p.strength <= 0 || p.strength > 1 {
		p.strength = DefaultStrength
	}
	p.http.Provider = Name
	return p
}

// Generate makes one image.
func (p *Provider) Generate(ctx context.Context, req generation.ProviderRequest) (generation.Image, error) {
	if p.key == "" {
		return generation.Image{}, p.http.Error(generation.ProviderAuth, KeyEnv+" is not set", 0, nil)
	}
	model := p.Model(req)
	callCtx, cancel, err := p.http.Context(ctx)
	if err != nil {
		return generation.Image{}, err
	}
	defer cancel()
	httpReq, err := p.request(callCtx, req, model)
	if err != nil {
		return generation.Image{}, err
	}
	resp, err := p.http.Do(httpReq)
	if err != nil {
		return generation.Image{}, err
	}
	if resp.Status != http.StatusOK {
		return generation.Image{}, p.failure(resp)
	}
	return p.image(resp, model)
}

// GenerateN makes n (1–4) images, one call each with consecutive seeds. On a
// failure after some calls it returns the images made so far with the error.
func (p *Provider) GenerateN(ctx context.Context, req generation.ProviderRequest, n int) ([]generation.Image, error) {
	if n < 1 || n > MaxImages {
		return nil, p.http.Error(generation.ProviderInvalidRequest, fmt.Sprintf("n must be 1–%d, got %d", MaxImages, n), 0, nil)
	}
	var out []generation.Image
	for i := range n {
		r := req
		r.Seed += int64(i)
		img, err := p.Generate(ctx, r)
		if err != nil {
			return out, err
		}
		out = append(out, img)
	}
	return out, nil
}

// Seed maps a candidate's seed onto Stability's 1–4294967294 (0 would mean random).
func Seed(seed int64) uint64 { return uint64(seed)%maxSeed + 1 }

func (p *Provider) request(ctx context.Context, req generation.ProviderRequest, model string) (*http.Request, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fields := [][2]string{{"prompt", req.Prompt}, {"model", model}, {"seed", strconv.FormatUint(Seed(req.Seed), 10)}, {"output_format", "png"}}
	if neg := strings.TrimSpace(req.NegativePrompt); neg != "" && !strings.Contains(model, "turbo") {
		fields = append(fields, [2]string{"negative_prompt", neg}) // not accepted by the turbo models
	}
	if len(req.Reference) == 0 {
		fields = append(fields, [2]string{"mode", "text-to-image"}, [2]string{"aspect_ratio", providerhttp.AspectRatio(req.Width, req.Height, aspectRatios)})
	} else {
		fields = append(fields, [2]string{"mode", "image-to-image"}, [2]string{"strength", strconv.FormatFloat(p.strength, 'f', -1, 64)})
	}
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return nil, fmt.Errorf("stability: write field %s: %w", f[0], err)
		}
	}
	if len(req.Reference) > 0 {
		if err := providerhttp.WriteImagePart(mw, "image", req.Reference, req.ReferenceContentType); err != nil {
			return nil, fmt.Errorf("stability: image part: %w", err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("stability: close multipart: %w", err)
	}
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL("/v2beta/stable-image/generate/sd3"), &body)
	if err != nil {
		return nil, fmt.Errorf("stability: build request: %w", err)
	}
	httpReq.Header.Set("authorization", "Bearer "+p.key)
	httpReq.Header.Set("accept", "image/*")
	httpReq.Header.Set("Content-Type", mw.FormDataContentType())
	httpReq.Header.Set("stability-client-id", "designer-bff-pipeline")
	return httpReq, nil
}

// jsonImage is the accept: application/json form of a 200.
type jsonImage struct {
	Image        string `json:"image"`
	FinishReason string `json:"finish_reason"`
	Seed         int64  `json:"seed"`
}

func (p *Provider) image(resp providerhttp.Response, model string) (generation.Image, error) {
	data := resp.Body
	finish := resp.Header.Get("finish-reason")
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "application/json" {
		var ji jsonImage
		if err := json.Unmarshal(resp.Body, &ji); err != nil {
			return generation.Image{}, p.http.Error(generation.ProviderUnavailable, "malformed response: "+providerhttp.Excerpt(resp.Body), 0, err)
		}
		finish = ji.FinishReason
		var err error
		if data, err = base64.StdEncoding.DecodeString(ji.Image); err != nil {
			return generation.Image{}, p.http.Error(generation.ProviderUnavailable, "image is not base64", 0, err)
		}
	}
	if strings.EqualFold(finish, "CONTENT_FILTERED") {
		return generation.Image{}, p.http.Error(generation.ProviderFiltered, "finish_reason CONTENT_FILTERED: output violated the content policy", 0, nil)
	}
	if len(data) == 0 {
		return generation.Image{}, p.http.Error(generation.ProviderUnavailable, "response has no image", 0, nil)
	}
	ct, w, h, err := providerhttp.Sniff(data)
	if err != nil {
		return generation.Image{}, p.http.Error(generation.ProviderUnavailable, "response is not an image", 0, err)
	}
	return generation.Image{Bytes: data, ContentType: ct, Width: w, Height: h, Model: model, CostUSD: catalog.Cost(Name, model, 1, 0)}, nil
}

// errorBody is Stability's error envelope.
type errorBody struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Errors []string `json:"errors"`
}

func (p *Provider) failure(resp providerhttp.Response) error {
	var eb errorBody
	_ = json.Unmarshal(resp.Body, &eb) // a body that is not the envelope falls back to the status
	reason := strings.Join(eb.Errors, "; ")
	if reason == "" {
		reason = fmt.Sprintf("HTTP %d: %s", resp.Status, providerhttp.Excerpt(resp.Body))
	}
	if eb.Name != "" {
		reason = eb.Name + ": " + reason
	}
	cause := fmt.Errorf("stability: HTTP %d %s (request %s)", resp.Status, eb.Name, eb.ID)
	switch {
	case eb.Name == "content_moderation" || (resp.Status == http.StatusForbidden && strings.Contains(strings.ToLower(reason), "moderation")):
		return p.http.Error(generation.ProviderFiltered, reason, 0, cause)
	case resp.Status == http.StatusNotFound || resp.Status == http.StatusGone:
		return p.http.Error(generation.ProviderModelRetired, reason, 0, cause)
	case resp.Status == http.StatusTooManyRequests:
		wait := providerhttp.RetryAfter(resp.Header, time.Now())
		if wait == 0 {
			wait = LockoutWait
		}
		return p.http.Error(generation.ProviderThrottled, reason, wait, cause)
	}
	return p.http.Error(providerhttp.KindOfStatus(resp.Status), reason, 0, cause)
}
