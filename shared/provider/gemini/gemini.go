// Package gemini is the Google adapter: Gemini image models through
// POST /v1beta/models/{model}:generateContent (the reference image as an
// inlineData part; one image per call), and, for a model id starting with
// "imagen-", the Imagen POST /v1beta/models/{model}:predict form, kept for
// configurations that still name Imagen (every Imagen id was shut down in
// 2026-08 and answers 404, which is model retired).
//
// Outcomes: generateContent reports safety as HTTP 200, so an answer is
// judged by its content: promptFeedback.blockReason, or a candidate without
// an inlineData image part (whatever its finishReason: IMAGE_SAFETY,
// NO_IMAGE, or STOP with only text), is filtered with that reason. Imagen's
// raiFilteredReason or a reply without predictions is filtered too. Errors use
// Google's envelope: 404 NOT_FOUND is model retired; 429 RESOURCE_EXHAUSTED is
// throttled with RetryInfo.retryDelay as the wait, or quota when the quota is
// a daily one; 400 API_KEY_INVALID, 401 and 403 are auth; 5xx, timeouts and
// unreadable bodies are unavailable. See package providerhttp for the retry
// policy.
package gemini

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/provider/catalog"
	"github.com/designerbff/pipeline/shared/provider/providerhttp"
)

// Defaults.
const (
	Name           = catalog.Gemini
	DefaultBaseURL = "https://generativelanguage.googleapis.com"
	KeyEnv         = "GEMINI_API_KEY"
	MaxImages      = 4 // per GenerateN
)

// aspectRatios are imageConfig.aspectRatio's values (go-genai types.go).
var aspectRatios = []string{"1:1", "2:3", "3:2", "3:4", "4:3", "9:16", "16:9", "21:9"}

// imagenAspectRatios are Imagen's parameters.aspectRatio values.
var imagenAspectRatios = []string{"1:1", "3:4", "4:3", "9:16", "16:9"}

// Options configure the adapter. Zero values take the defaults.
type Options struct {
	APIKey  string
	Model   string // default catalog.DefaultModel("gemini")
	BaseURL string // default https://generativelanguage.googleapis.com
	HTTP    providerhttp.Caller
}

// Provider calls the Gemini API.
type Provider struct {
	providerhttp.Endpoint
	key  string
	http providerhttp.Caller
}

var _ generation.Provider = (*Provider)(nil)

// New returns the adapter.
func New(opts Options) *Provider {
	p := &Provider{key: opts.APIKey, Endpoint: providerhttp.NewEndpoint(Name, opts.Model, opts.BaseURL, DefaultBaseURL), http: opts.HTTP}
	p.http.Provider = Name
	return p
}

// Generate makes one image.
func (p *Provider) Generate(ctx context.Context, req generation.ProviderRequest) (generation.Image, error) {
	return providerhttp.One(ctx, req, p.GenerateN)
}

// GenerateN makes n (1–4) images: n generateContent calls (one image each),
// or one :predict call with sampleCount n. On a failure after some calls it
// returns the images made so far with the error.
func (p *Provider) GenerateN(ctx context.Context, req generation.ProviderRequest, n int) ([]generation.Image, error) {
	if p.key == "" {
		return nil, p.http.Error(generation.ProviderAuth, KeyEnv+" is not set", 0, nil)
	}
	if n < 1 || n > MaxImages {
		return nil, p.http.Error(generation.ProviderInvalidRequest, fmt.Sprintf("n must be 1–%d, got %d", MaxImages, n), 0, nil)
	}
	model := p.Model(req)
	if strings.HasPrefix(model, "imagen-") {
		return p.predict(ctx, req, model, n)
	}
	var out []generation.Image
	for range n {
		img, err := p.generateContent(ctx, req, model)
		if err != nil {
			return out, err
		}
		out = append(out, img)
	}
	return out, nil
}

func instruction(req generation.ProviderRequest) string {
	text := req.Prompt
	if len(req.Reference) > 0 {
		text += "\n\nUse the attached image as the reference for the garment, colours and style."
	}
	if neg := strings.TrimSpace(req.NegativePrompt); neg != "" {
		text += "\n\nAvoid: " + neg
	}
	return text
}

// part is a content part. Google's REST examples write snake_case keys and
// the SDK camelCase; the API accepts both, so both are read (camelCase is sent).
type part struct {
	Text            string `json:"text,omitempty"`
	Thought         bool   `json:"thought,omitempty"`
	InlineData      *blob  `json:"inlineData,omitempty"`
	InlineDataSnake *blob  `json:"inline_data,omitempty"`
}

type blob struct {
	MimeType      string `json:"mimeType,omitempty"`
	MimeTypeSnake string `json:"mime_type,omitempty"`
	Data          string `json:"data"`
}

func (p part) blob() *blob {
	b := p.InlineData
	if b == nil {
		b = p.InlineDataSnake
	}
	if b != nil && b.MimeType == "" {
		b.MimeType = b.MimeTypeSnake
	}
	return b
}

type generateContentResponse struct {
	Candidates []struct {
		Content *struct {
			Parts []part `json:"parts"`
		} `json:"content"`
		FinishReason  string `json:"finishReason"`
		FinishMessage string `json:"finishMessage"`
	} `json:"candidates"`
	PromptFeedback *struct {
		BlockReason        string `json:"blockReason"`
		BlockReasonMessage string `json:"blockReasonMessage"`
	} `json:"promptFeedback"`
	ModelVersion string `json:"modelVersion"`
}

func (p *Provider) generateContent(ctx context.Context, req generation.ProviderRequest, model string) (generation.Image, error) {
	parts := []part{{Text: instruction(req)}}
	if len(req.Reference) > 0 {
		ct := req.ReferenceContentType
		if ct == "" {
			ct = "image/png"
		}
		parts = append(parts, part{InlineData: &blob{MimeType: ct, Data: base64.StdEncoding.EncodeToString(req.Reference)}})
	}
	body := map[string]any{
		"contents": []any{map[string]any{"role": "user", "parts": parts}},
		"generationConfig": map[string]any{
			"responseModalities": []string{"TEXT", "IMAGE"},
			"imageConfig":        map[string]any{"aspectRatio": providerhttp.AspectRatio(req.Width, req.Height, aspectRatios)},
		},
	}
	resp, err := p.post(ctx, model, "generateContent", body)
	if err != nil {
		return generation.Image{}, err
	}
	var gr generateContentResponse
	if err := json.Unmarshal(resp.Body, &gr); err != nil {
		return generation.Image{}, p.http.Error(generation.ProviderUnavailable, "malformed response: "+providerhttp.Excerpt(resp.Body), 0, err)
	}
	if pf := gr.PromptFeedback; pf != nil && pf.BlockReason != "" {
		return generation.Image{}, p.http.Error(generation.ProviderFiltered, strings.TrimSuffix("blockReason "+pf.BlockReason+": "+pf.BlockReasonMessage, ": "), 0, nil)
	}
	if len(gr.Candidates) == 0 {
		return generation.Image{}, p.http.Error(generation.ProviderUnavailable, "response has no candidates", 0, nil)
	}
	var texts []string
	for _, c := range gr.Candidates {
		if c.Content == nil {
			continue
		}
		for _, pt := range c.Content.Parts {
			b := pt.blob()
			if b == nil || pt.Thought || !strings.HasPrefix(b.MimeType, "image/") {
				if pt.Text != "" && !pt.Thought {
					texts = append(texts, pt.Text)
				}
				continue
			}
			return p.image(b.Data, model)
		}
	}
	// No image part: the model declined, whatever finishReason says.
	c := gr.Candidates[0]
	reason := "no image part (finishReason " + orNone(c.FinishReason) + ")"
	if c.FinishMessage != "" {
		reason += ": " + c.FinishMessage
	} else if len(texts) > 0 {
		reason += ": " + providerhttp.Excerpt([]byte(strings.Join(texts, " ")))
	}
	return generation.Image{}, p.http.Error(generation.ProviderFiltered, reason, 0, nil)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func (p *Provider) image(b64, model string) (generation.Image, error) {
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return generation.Image{}, p.http.Error(generation.ProviderUnavailable, "image data is not base64", 0, err)
	}
	ct, w, h, err := providerhttp.Sniff(data)
	if err != nil {
		return generation.Image{}, p.http.Error(generation.ProviderUnavailable, "image data is not an image", 0, err)
	}
	return generation.Image{Bytes: data, ContentType: ct, Width: w, Height: h, Model: model, CostUSD: catalog.Cost(Name, model, 1, 0)}, nil
}

type predictResponse struct {
	Predictions []struct {
		BytesBase64Encoded string `json:"bytesBase64Encoded"`
		MimeType           string `json:"mimeType"`
		RaiFilteredReason  string `json:"raiFilteredReason"`
	} `json:"predictions"`
}

// predict is the Imagen form. The Gemini API has no Imagen editing, so the
// reference image is not sent.
func (p *Provider) predict(ctx context.Context, req generation.ProviderRequest, model string, n int) ([]generation.Image, error) {
	body := map[string]any{
		"instances": []any{map[string]any{"prompt": instruction(generation.ProviderRequest{Prompt: req.Prompt, NegativePrompt: req.NegativePrompt})}},
		"parameters": map[string]any{
			"sampleCount": n, "aspectRatio": providerhttp.AspectRatio(req.Width, req.Height, imagenAspectRatios),
			"includeRaiReason": true,
		},
	}
	resp, err := p.post(ctx, model, "predict", body)
	if err != nil {
		return nil, err
	}
	var pr predictResponse
	if err := json.Unmarshal(resp.Body, &pr); err != nil {
		return nil, p.http.Error(generation.ProviderUnavailable, "malformed response: "+providerhttp.Excerpt(resp.Body), 0, err)
	}
	var out []generation.Image
	var filtered []string
	for _, pred := range pr.Predictions {
		if pred.RaiFilteredReason != "" || pred.BytesBase64Encoded == "" {
			filtered = append(filtered, pred.RaiFilteredReason)
			continue
		}
		img, err := p.image(pred.BytesBase64Encoded, model)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	if len(out) == 0 {
		reason := "no predictions"
		if len(filtered) > 0 {
			reason = "raiFilteredReason: " + strings.Join(filtered, "; ")
		}
		return nil, p.http.Error(generation.ProviderFiltered, reason, 0, nil)
	}
	return out, nil
}

func (p *Provider) post(ctx context.Context, model, method string, body any) (providerhttp.Response, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return providerhttp.Response{}, fmt.Errorf("gemini: encode request: %w", err)
	}
	callCtx, cancel, err := p.http.Context(ctx)
	if err != nil {
		return providerhttp.Response{}, err
	}
	defer cancel()
	// The model is one escaped path segment: it cannot name another endpoint.
	path, err := providerhttp.Path("v1beta", "models", model)
	if err != nil {
		return providerhttp.Response{}, p.http.Error(generation.ProviderInvalidRequest, err.Error(), 0, err)
	}
	httpReq, err := http.NewRequestWithContext(callCtx, http.MethodPost, p.URL(path+":"+method), bytes.NewReader(payload))
	if err != nil {
		return providerhttp.Response{}, fmt.Errorf("gemini: build request: %w", err)
	}
	httpReq.Header.Set("x-goog-api-key", p.key)
	httpReq.Header.Set("Content-Type", "application/json")
	resp, err := p.http.Do(httpReq)
	if err != nil {
		return providerhttp.Response{}, err
	}
	if resp.Status != http.StatusOK {
		return providerhttp.Response{}, p.failure(resp)
	}
	return resp, nil
}

// errorBody is Google's error envelope (go-genai APIError).
type errorBody struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Details []struct {
			Type       string `json:"@type"`
			RetryDelay string `json:"retryDelay"`
			Reason     string `json:"reason"`
			Violations []struct {
				QuotaID string `json:"quotaId"`
			} `json:"violations"`
			Metadata map[string]string `json:"metadata"`
		} `json:"details"`
	} `json:"error"`
}

func (p *Provider) failure(resp providerhttp.Response) error {
	var eb errorBody
	_ = json.Unmarshal(resp.Body, &eb) // a body that is not the envelope falls back to the status
	e := eb.Error
	msg := e.Message
	if msg == "" {
		msg = fmt.Sprintf("HTTP %d: %s", resp.Status, providerhttp.Excerpt(resp.Body))
	}
	reason := strings.TrimSpace(e.Status + ": " + msg)
	var (
		wait     time.Duration
		daily    bool
		keyIssue bool
	)
	for _, d := range e.Details {
		if d.RetryDelay != "" {
			if w, err := time.ParseDuration(d.RetryDelay); err == nil {
				wait = w
			}
		}
		if d.Reason == "API_KEY_INVALID" {
			keyIssue = true
		}
		for _, v := range d.Violations {
			daily = daily || strings.Contains(v.QuotaID, "PerDay")
		}
		daily = daily || strings.Contains(d.Metadata["quota_id"], "PerDay")
	}
	cause := fmt.Errorf("gemini: HTTP %d %s", resp.Status, e.Status)
	switch {
	case resp.Status == http.StatusNotFound || e.Status == "NOT_FOUND":
		return p.http.Error(generation.ProviderModelRetired, reason, 0, cause)
	case keyIssue || e.Status == "UNAUTHENTICATED" || e.Status == "PERMISSION_DENIED":
		return p.http.Error(generation.ProviderAuth, reason, 0, cause)
	case resp.Status == http.StatusTooManyRequests && daily:
		// A daily quota does not clear within this execution.
		return p.http.Error(generation.ProviderQuota, reason, 0, cause)
	case resp.Status == http.StatusTooManyRequests:
		if wait == 0 {
			wait = providerhttp.RetryAfter(resp.Header, time.Now())
		}
		return p.http.Error(generation.ProviderThrottled, reason, wait, cause)
	case resp.Status == http.StatusBadRequest && strings.Contains(msg, "violate") && strings.Contains(msg, "polic"):
		// Imagen's prompt-level block: "The response is blocked, as it may violate our policies."
		return p.http.Error(generation.ProviderFiltered, reason, 0, cause)
	}
	return p.http.Error(providerhttp.KindOfStatus(resp.Status), reason, 0, cause)
}
