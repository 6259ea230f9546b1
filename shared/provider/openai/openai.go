// Package openai is the OpenAI Images adapter: POST /v1/images/generations
// (JSON) without a reference image and POST /v1/images/edits (multipart, the
// reference as the `image` file) with one, for the GPT image models, which
// always answer base64 (`b64_json`).
//
// Outcomes: 400 `moderation_blocked` (or the DALL·E-era
// `content_policy_violation`) is filtered, with the moderation stage and
// categories in the reason; `model_not_found` is model retired; 429
// `insufficient_quota` is quota; other 429s are throttled with the wait from
// Retry-After-Ms, Retry-After or the message; 401 is auth; 408, 409, 5xx,
// timeouts and unreadable success bodies are unavailable. See package
// providerhttp for the retry policy.
package openai

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
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
	Name           = catalog.OpenAI
	DefaultBaseURL = "https://api.openai.com"
	DefaultQuality = "medium"
	KeyEnv         = "OPENAI_API_KEY"
	MaxImages      = 10 // n per call
)

// Options configure the adapter. Zero values take the defaults.
type Options struct {
	APIKey  string
	Model   string // default catalog.DefaultModel("openai")
	BaseURL string // default https://api.openai.com
	Quality string // low, medium, high, auto (default medium: the price is for medium)
	HTTP    providerhttp.Caller
}

// Provider calls the OpenAI Images API.
type Provider struct {
	providerhttp.Endpoint
	key, quality string
	http         providerhttp.Caller
}

var _ generation.Provider = (*Provider)(nil)

// New returns the adapter.
func New(opts Options) *Provider {
	p := &Provider{key: opts.APIKey, Endpoint: providerhttp.NewEndpoint(Name, opts.Model, opts.BaseURL, DefaultBaseURL), quality: opts.Quality, http: opts.HTTP}
	if p.quality == "" {
		p.quality = DefaultQuality
	}
	p.http.Provider = Name
	return p
}

// Generate makes one image.
func (p *Provider) Generate(ctx context.Context, req generation.ProviderRequest) (generation.Image, error) {
	return providerhttp.One(ctx, req, p.GenerateN)
}

// GenerateN makes n (1–10) images in one call, each carrying its price.
func (p *Provider) GenerateN(ctx context.Context, req generation.ProviderRequest, n int) ([]generation.Image, error) {
	if p.key == "" {
		return nil, p.http.Error(generation.ProviderAuth, KeyEnv+" is not set", 0, nil)
	}
	if n < 1 || n > MaxImages {
		return nil, p.http.Error(generation.ProviderInvalidRequest, fmt.Sprintf("n must be 1–%d, got %d", MaxImages, n), 0, nil)
	}
	model := p.Model(req)
	callCtx, cancel, err := p.http.Context(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	httpReq, err := p.request(callCtx, req, model, n)
	if err != nil {
		return nil, err
	}
	resp, err := p.http.Do(httpReq)
	if err != nil {
		return nil, err
	}
	if resp.Status != http.StatusOK {
		return nil, p.failure(resp)
	}
	return p.images(resp, model)
}

// size is the supported GPT image size closest to the requested shape.
func size(w, h int) string {
	switch providerhttp.AspectRatio(w, h, []string{"1:1", "3:2", "2:3"}) {
	case "3:2":
		return "1536x1024"
	case "2:3":
		return "1024x1536"
	default:
		return "1024x1024"
	}
}

// prompt folds the negative prompt in: the Images API has no field for it.
func prompt(req generation.ProviderRequest) string {
	if neg := strings.TrimSpace(req.NegativePrompt); neg != "" {
		return req.Prompt + "\n\nAvoid: " + neg
	}
	return req.Prompt
}

func (p *Provider) request(ctx context.Context, req generation.ProviderRequest, model string, n int) (*http.Request, error) {
	var (
		body        bytes.Buffer
		contentType string
		path        string
	)
	if len(req.Reference) == 0 {
		path, contentType = "/v1/images/generations", "application/json"
		if err := json.NewEncoder(&body).Encode(map[string]any{
			"model": model, "prompt": prompt(req), "n": n, "size": size(req.Width, req.Height),
			"quality": p.quality, "output_format": "png",
		}); err != nil {
			return nil, fmt.Errorf("openai: encode request: %w", err)
		}
	} else {
		path = "/v1/images/edits"
		mw := multipart.NewWriter(&body)
		for _, f := range [][2]string{
			{"model", model}, {"prompt", prompt(req)}, {"n", strconv.Itoa(n)},
			{"size", size(req.Width, req.Height)}, {"quality", p.quality}, {"output_format", "png"},
		} {
			if err := mw.WriteField(f[0], f[1]); err != nil {
				return nil, fmt.Errorf("openai: write field %s: %w", f[0], err)
			}
		}
		if err := providerhttp.WriteImagePart(mw, "image", req.Reference, req.ReferenceContentType); err != nil {
			return nil, fmt.Errorf("openai: image part: %w", err)
		}
		if err := mw.Close(); err != nil {
			return nil, fmt.Errorf("openai: close multipart: %w", err)
		}
		contentType = mw.FormDataContentType()
	}
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL(path), &body)
	if err != nil {
		return nil, fmt.Errorf("openai: build request: %w", err)
	}
	httpReq.Header.Set("Authorization", "Bearer "+p.key)
	httpReq.Header.Set("Content-Type", contentType)
	httpReq.Header.Set("Accept", "application/json")
	return httpReq, nil
}

// imagesResponse is ImagesResponse of the OpenAPI spec.
type imagesResponse struct {
	Created int64 `json:"created"`
	Data    []struct {
		B64JSON string `json:"b64_json"`
		URL     string `json:"url"`
	} `json:"data"`
}

func (p *Provider) images(resp providerhttp.Response, model string) ([]generation.Image, error) {
	var ir imagesResponse
	if err := json.Unmarshal(resp.Body, &ir); err != nil {
		return nil, p.http.Error(generation.ProviderUnavailable, "malformed response: "+providerhttp.Excerpt(resp.Body), 0, err)
	}
	if len(ir.Data) == 0 {
		return nil, p.http.Error(generation.ProviderUnavailable, "response has no images", 0, nil)
	}
	price := catalog.Cost(Name, model, 1, 0)
	out := make([]generation.Image, 0, len(ir.Data))
	for i, d := range ir.Data {
		if d.B64JSON == "" {
			return nil, p.http.Error(generation.ProviderUnavailable, fmt.Sprintf("image %d has no b64_json", i), 0, nil)
		}
		data, err := base64.StdEncoding.DecodeString(d.B64JSON)
		if err != nil {
			return nil, p.http.Error(generation.ProviderUnavailable, fmt.Sprintf("image %d is not base64", i), 0, err)
		}
		ct, w, h, err := providerhttp.Sniff(data)
		if err != nil {
			return nil, p.http.Error(generation.ProviderUnavailable, fmt.Sprintf("image %d is not an image", i), 0, err)
		}
		out = append(out, generation.Image{Bytes: data, ContentType: ct, Width: w, Height: h, Model: model, CostUSD: price})
	}
	return out, nil
}

// errorBody is the ErrorResponse envelope.
type errorBody struct {
	Error struct {
		Message           string  `json:"message"`
		Type              string  `json:"type"`
		Param             *string `json:"param"`
		Code              *string `json:"code"`
		ModerationDetails *struct {
			Stage      string   `json:"moderation_stage"`
			Categories []string `json:"categories"`
		} `json:"moderation_details"`
	} `json:"error"`
}

func (p *Provider) failure(resp providerhttp.Response) error {
	var eb errorBody
	_ = json.Unmarshal(resp.Body, &eb) // a body that is not the envelope falls back to the status
	e := eb.Error
	code := ""
	if e.Code != nil {
		code = *e.Code
	}
	msg := e.Message
	if msg == "" {
		msg = fmt.Sprintf("HTTP %d: %s", resp.Status, providerhttp.Excerpt(resp.Body))
	}
	cause := fmt.Errorf("openai: HTTP %d %s %s", resp.Status, code, e.Type)
	switch {
	case code == "moderation_blocked" || code == "content_policy_violation":
		reason := code
		if md := e.ModerationDetails; md != nil {
			reason += " (" + md.Stage
			if len(md.Categories) > 0 {
				reason += ": " + strings.Join(md.Categories, ", ")
			}
			reason += ")"
		}
		return p.http.Error(generation.ProviderFiltered, reason+": "+msg, 0, cause)
	case code == "model_not_found":
		return p.http.Error(generation.ProviderModelRetired, code+": "+msg, 0, cause)
	case code == "insufficient_quota" || e.Type == "insufficient_quota":
		return p.http.Error(generation.ProviderQuota, "insufficient_quota: "+msg, 0, cause)
	case resp.Status == http.StatusUnauthorized || code == "invalid_api_key":
		return p.http.Error(generation.ProviderAuth, msg, 0, cause)
	case resp.Status == http.StatusTooManyRequests:
		wait := providerhttp.RetryAfter(resp.Header, time.Now())
		if wait == 0 {
			wait = providerhttp.RetryAfterText(msg)
		}
		return p.http.Error(generation.ProviderThrottled, strings.TrimSpace(code+": "+msg), wait, cause)
	case strings.EqualFold(resp.Header.Get("x-should-retry"), "true"):
		return p.http.Error(generation.ProviderUnavailable, msg, 0, cause)
	}
	return p.http.Error(providerhttp.KindOfStatus(resp.Status), msg, 0, cause)
}
