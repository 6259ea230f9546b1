package visionjudge

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// OpenAI rates images through Chat Completions with a strict json_schema
// response format (POST /v1/chat/completions). The answer is the JSON in
// choices[0].message.content; a safety refusal arrives in
// choices[0].message.refusal, a cut-off answer as finish_reason "length".
type OpenAI struct {
	BaseURL string // default https://api.openai.com
	APIKey  string
	Model   string // default DefaultOpenAIModel
	Client  *http.Client
}

// DefaultOpenAIModel is a vision-capable chat model; it is configuration
// (VALIDATION_VISION_MODEL), not a promise that the ID lives forever.
const DefaultOpenAIModel = "gpt-4.1-mini"

// Name is "openai/<model>".
func (o *OpenAI) Name() string { return "openai/" + o.model() }

func (o *OpenAI) model() string {
	if o.Model == "" {
		return DefaultOpenAIModel
	}
	return o.Model
}

type openAIRequest struct {
	Model          string          `json:"model"`
	Messages       []openAIMessage `json:"messages"`
	ResponseFormat map[string]any  `json:"response_format"`
}

type openAIMessage struct {
	Role    string       `json:"role"`
	Content []openAIPart `json:"content"`
}

type openAIPart struct {
	Type     string          `json:"type"`
	Text     string          `json:"text,omitempty"`
	ImageURL *openAIImageURL `json:"image_url,omitempty"`
}

type openAIImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail"`
}

type openAIResponse struct {
	Choices []struct {
		FinishReason string `json:"finish_reason"`
		Message      struct {
			Content *string `json:"content"`
			Refusal *string `json:"refusal"`
		} `json:"message"`
	} `json:"choices"`
}

type openAIError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Code    *string `json:"code"`
	} `json:"error"`
}

// Rate sends the image as a data URL with the rubric and parses the answer.
func (o *OpenAI) Rate(ctx context.Context, image []byte, contentType string) (Rating, error) {
	if o.APIKey == "" {
		return Rating{}, errors.New("openai judge: OPENAI_API_KEY is not set in this function")
	}
	req := openAIRequest{
		Model: o.model(),
		Messages: []openAIMessage{{Role: "user", Content: []openAIPart{
			{Type: "text", Text: Rubric},
			{Type: "image_url", ImageURL: &openAIImageURL{
				URL: "data:" + contentType + ";base64," + base64.StdEncoding.EncodeToString(image), Detail: "low"}},
		}}},
		ResponseFormat: map[string]any{"type": "json_schema", "json_schema": map[string]any{
			"name": "image_quality_rating", "schema": schema(), "strict": true}},
	}
	endpoint := baseURL(o.BaseURL, "https://api.openai.com") + "/v1/chat/completions"
	data, err := postJSON(ctx, o.Client, endpoint, "Authorization", "Bearer "+o.APIKey, req, func(body []byte) string {
		var e openAIError
		_ = json.Unmarshal(body, &e) // best effort: the status says enough
		code := ""
		if e.Error.Code != nil {
			code = *e.Error.Code
		}
		return code + ": " + e.Error.Message
	})
	if err != nil {
		return Rating{}, fmt.Errorf("openai judge: %w", err)
	}
	var r openAIResponse
	if err := json.Unmarshal(data, &r); err != nil {
		return Rating{}, fmt.Errorf("openai judge: %w: response: %v", ErrMalformed, err)
	}
	if len(r.Choices) == 0 {
		return Rating{}, fmt.Errorf("openai judge: %w: no choices", ErrMalformed)
	}
	ch := r.Choices[0]
	switch {
	case ch.Message.Refusal != nil && *ch.Message.Refusal != "":
		return Rating{}, fmt.Errorf("openai judge: %w: %s", ErrRefused, *ch.Message.Refusal)
	case ch.FinishReason == "length":
		return Rating{}, fmt.Errorf("openai judge: %w (finish_reason length)", ErrTruncated)
	case ch.FinishReason == "content_filter":
		return Rating{}, fmt.Errorf("openai judge: %w: content_filter", ErrRefused)
	case ch.Message.Content == nil:
		return Rating{}, fmt.Errorf("openai judge: %w: no content", ErrMalformed)
	}
	rating, err := parseRating(*ch.Message.Content)
	if err != nil {
		return Rating{}, fmt.Errorf("openai judge: %w", err)
	}
	return rating, nil
}
