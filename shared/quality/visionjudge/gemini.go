package visionjudge

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Gemini rates images through generateContent with a JSON response schema
// (POST /v1beta/models/{model}:generateContent, x-goog-api-key). The answer
// is the JSON text in candidates[0].content.parts[0].text; a blocked prompt
// is promptFeedback.blockReason with no candidates, a blocked answer a
// safety finishReason, a cut-off one finishReason MAX_TOKENS.
type Gemini struct {
	BaseURL string // default https://generativelanguage.googleapis.com
	APIKey  string
	Model   string // default DefaultGeminiModel
	Client  *http.Client
}

// DefaultGeminiModel is a vision-capable Gemini text model (configuration).
const DefaultGeminiModel = "gemini-2.5-flash"

// Name is "gemini/<model>".
func (g *Gemini) Name() string { return "gemini/" + g.model() }

func (g *Gemini) model() string {
	if g.Model == "" {
		return DefaultGeminiModel
	}
	return g.Model
}

type geminiPart struct {
	Text       string            `json:"text,omitempty"`
	InlineData *geminiInlineData `json:"inlineData,omitempty"`
}

type geminiInlineData struct {
	MimeType string `json:"mimeType"`
	Data     string `json:"data"`
}

type geminiRequest struct {
	Contents []struct {
		Role  string       `json:"role"`
		Parts []geminiPart `json:"parts"`
	} `json:"contents"`
	GenerationConfig map[string]any `json:"generationConfig"`
}

type geminiResponse struct {
	Candidates []struct {
		FinishReason string `json:"finishReason"`
		Content      *struct {
			Parts []geminiPart `json:"parts"`
		} `json:"content"`
	} `json:"candidates"`
	PromptFeedback *struct {
		BlockReason string `json:"blockReason"`
	} `json:"promptFeedback"`
}

type geminiError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
	} `json:"error"`
}

// geminiSchema is schema() in the OpenAPI subset responseSchema takes
// (upper-case types, no additionalProperties).
func geminiSchema() map[string]any {
	return map[string]any{
		"type": "OBJECT",
		"properties": map[string]any{
			"score":   map[string]any{"type": "INTEGER", "minimum": 0, "maximum": 100},
			"defects": map[string]any{"type": "ARRAY", "items": map[string]any{"type": "STRING", "enum": Defects}},
			"summary": map[string]any{"type": "STRING"},
		},
		"required":         []string{"score", "defects", "summary"},
		"propertyOrdering": []string{"score", "defects", "summary"},
	}
}

// Rate sends the image inline with the rubric and parses the answer.
func (g *Gemini) Rate(ctx context.Context, image []byte, contentType string) (Rating, error) {
	if g.APIKey == "" {
		return Rating{}, errors.New("gemini judge: GEMINI_API_KEY is not set in this function")
	}
	var req geminiRequest
	req.Contents = append(req.Contents, struct {
		Role  string       `json:"role"`
		Parts []geminiPart `json:"parts"`
	}{Role: "user", Parts: []geminiPart{
		{Text: Rubric},
		{InlineData: &geminiInlineData{MimeType: contentType, Data: base64.StdEncoding.EncodeToString(image)}},
	}})
	req.GenerationConfig = map[string]any{"responseMimeType": "application/json", "responseSchema": geminiSchema()}
	endpoint := baseURL(g.BaseURL, "https://generativelanguage.googleapis.com") + "/v1beta/models/" + url.PathEscape(g.model()) + ":generateContent"
	data, err := postJSON(ctx, g.Client, endpoint, "x-goog-api-key", g.APIKey, req, func(body []byte) string {
		var e geminiError
		_ = json.Unmarshal(body, &e) // best effort: the status says enough
		return e.Error.Status + ": " + e.Error.Message
	})
	if err != nil {
		return Rating{}, fmt.Errorf("gemini judge: %w", err)
	}
	var r geminiResponse
	if err := json.Unmarshal(data, &r); err != nil {
		return Rating{}, fmt.Errorf("gemini judge: %w: response: %v", ErrMalformed, err)
	}
	if r.PromptFeedback != nil && r.PromptFeedback.BlockReason != "" {
		return Rating{}, fmt.Errorf("gemini judge: %w: blockReason %s", ErrRefused, r.PromptFeedback.BlockReason)
	}
	if len(r.Candidates) == 0 {
		return Rating{}, fmt.Errorf("gemini judge: %w: no candidates", ErrMalformed)
	}
	c := r.Candidates[0]
	switch c.FinishReason {
	case "", "STOP":
	case "MAX_TOKENS":
		return Rating{}, fmt.Errorf("gemini judge: %w (finishReason MAX_TOKENS)", ErrTruncated)
	default: // SAFETY, PROHIBITED_CONTENT, BLOCKLIST, SPII, RECITATION, OTHER, …
		return Rating{}, fmt.Errorf("gemini judge: %w: finishReason %s", ErrRefused, c.FinishReason)
	}
	var text strings.Builder
	if c.Content != nil {
		for _, p := range c.Content.Parts {
			text.WriteString(p.Text)
		}
	}
	if text.Len() == 0 {
		return Rating{}, fmt.Errorf("gemini judge: %w: no text part", ErrMalformed)
	}
	rating, err := parseRating(text.String())
	if err != nil {
		return Rating{}, fmt.Errorf("gemini judge: %w", err)
	}
	return rating, nil
}
