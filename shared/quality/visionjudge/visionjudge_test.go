package visionjudge_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/quality"
	"github.com/designerbff/pipeline/shared/quality/visionjudge"
)

const goodRating = `{"score": 88, "defects": [], "summary": "Crisp and well exposed."}`

// openAIServer answers POST /v1/chat/completions the way the API does,
// after checking the request is what the API expects.
func openAIServer(t *testing.T, status int, body string, calls *atomic.Int32) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer sk-test" {
			http.Error(w, `{"error": {"message": "bad route or key", "type": "invalid_request_error", "code": null}}`, http.StatusUnauthorized)
			return
		}
		var req struct {
			Model    string `json:"model"`
			Messages []struct {
				Role    string `json:"role"`
				Content []struct {
					Type     string `json:"type"`
					Text     string `json:"text"`
					ImageURL struct {
						URL string `json:"url"`
					} `json:"image_url"`
				} `json:"content"`
			} `json:"messages"`
			ResponseFormat struct {
				Type       string `json:"type"`
				JSONSchema struct {
					Name   string         `json:"name"`
					Strict bool           `json:"strict"`
					Schema map[string]any `json:"schema"`
				} `json:"json_schema"`
			} `json:"response_format"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil ||
			req.ResponseFormat.Type != "json_schema" || !req.ResponseFormat.JSONSchema.Strict ||
			req.ResponseFormat.JSONSchema.Name == "" || req.ResponseFormat.JSONSchema.Schema["additionalProperties"] != false ||
			len(req.Messages) != 1 || len(req.Messages[0].Content) != 2 ||
			!strings.HasPrefix(req.Messages[0].Content[1].ImageURL.URL, "data:image/png;base64,") {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error": {"message": "malformed request", "type": "invalid_request_error", "param": null, "code": null}}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// openAIChoice is a chat.completion with one choice.
func openAIChoice(content, refusal, finish string) string {
	msg := map[string]any{"role": "assistant", "content": nil, "refusal": nil}
	if content != "" {
		msg["content"] = content
	}
	if refusal != "" {
		msg["refusal"] = refusal
	}
	b, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "created": 1764150000, "model": "gpt-4.1-mini",
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish}},
		"usage":   map[string]any{"prompt_tokens": 900, "completion_tokens": 30, "total_tokens": 930},
	})
	return string(b)
}

// geminiServer answers generateContent the way the Gemini API does.
func geminiServer(t *testing.T, status int, body string, calls *atomic.Int32) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Method != http.MethodPost || r.URL.Path != "/v1beta/models/gemini-test:generateContent" || r.Header.Get("x-goog-api-key") != "g-test" {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}}`)
			return
		}
		var req struct {
			Contents []struct {
				Parts []struct {
					Text       string `json:"text"`
					InlineData *struct {
						MimeType string `json:"mimeType"`
						Data     string `json:"data"`
					} `json:"inlineData"`
				} `json:"parts"`
			} `json:"contents"`
			GenerationConfig struct {
				ResponseMimeType string         `json:"responseMimeType"`
				ResponseSchema   map[string]any `json:"responseSchema"`
			} `json:"generationConfig"`
		}
		err := json.NewDecoder(r.Body).Decode(&req)
		ok := err == nil && len(req.Contents) == 1 && len(req.Contents[0].Parts) == 2 &&
			req.Contents[0].Parts[1].InlineData != nil && req.Contents[0].Parts[1].InlineData.MimeType == "image/png" &&
			req.GenerationConfig.ResponseMimeType == "application/json" && req.GenerationConfig.ResponseSchema["type"] == "OBJECT"
		if ok {
			_, err = base64.StdEncoding.DecodeString(req.Contents[0].Parts[1].InlineData.Data)
			ok = err == nil
		}
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error": {"code": 400, "message": "Invalid JSON payload", "status": "INVALID_ARGUMENT"}}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func geminiText(text, finish string) string {
	b, _ := json.Marshal(map[string]any{
		"candidates": []any{map[string]any{
			"content":      map[string]any{"role": "model", "parts": []any{map[string]any{"text": text}}},
			"finishReason": finish, "index": 0,
		}},
		"usageMetadata": map[string]any{"promptTokenCount": 1300, "candidatesTokenCount": 25, "totalTokenCount": 1325},
		"modelVersion":  "gemini-test", "responseId": "r1",
	})
	return string(b)
}

func testPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 16, 16))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

func TestJudgesSpeakTheWireFormats(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		provider  string
		status    int
		body      string
		wantScore float64
		wantErr   error
	}{
		{name: "openai rating", provider: "openai", status: 200, body: openAIChoice(goodRating, "", "stop"), wantScore: 88},
		{name: "openai rating with defects", provider: "openai", status: 200,
			body: openAIChoice(`{"score": 35, "defects": ["blurry", "artifacts"], "summary": "Soft."}`, "", "stop"), wantScore: 35},
		{name: "openai refusal", provider: "openai", status: 200, body: openAIChoice("", "I'm sorry, I can't help with that.", "stop"), wantErr: visionjudge.ErrRefused},
		{name: "openai truncated", provider: "openai", status: 200, body: openAIChoice(`{"score": 8`, "", "length"), wantErr: visionjudge.ErrTruncated},
		{name: "openai malformed json", provider: "openai", status: 200, body: openAIChoice(`score: 88`, "", "stop"), wantErr: visionjudge.ErrMalformed},
		{name: "openai score off the scale", provider: "openai", status: 200,
			body: openAIChoice(`{"score": 150, "defects": [], "summary": "x"}`, "", "stop"), wantErr: visionjudge.ErrMalformed},
		{name: "openai unknown defect", provider: "openai", status: 200,
			body: openAIChoice(`{"score": 50, "defects": ["ugly"], "summary": "x"}`, "", "stop"), wantErr: visionjudge.ErrMalformed},
		{name: "openai extra field", provider: "openai", status: 200,
			body: openAIChoice(`{"score": 50, "defects": [], "summary": "x", "mood": "sad"}`, "", "stop"), wantErr: visionjudge.ErrMalformed},
		{name: "openai not json at all", provider: "openai", status: 200, body: `<html>gateway</html>`, wantErr: visionjudge.ErrMalformed},
		{name: "openai rate limited", provider: "openai", status: 429,
			body: `{"error": {"message": "Rate limit reached. Please try again in 2.5s.", "type": "requests", "param": null, "code": "rate_limit_exceeded"}}`, wantErr: visionjudge.ErrHTTP},

		{name: "gemini rating", provider: "gemini", status: 200, body: geminiText(goodRating, "STOP"), wantScore: 88},
		{name: "gemini prompt blocked", provider: "gemini", status: 200,
			body: `{"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 1300}}`, wantErr: visionjudge.ErrRefused},
		{name: "gemini answer blocked", provider: "gemini", status: 200,
			body: `{"candidates": [{"finishReason": "SAFETY", "index": 0}]}`, wantErr: visionjudge.ErrRefused},
		{name: "gemini truncated", provider: "gemini", status: 200, body: geminiText(`{"score": 8`, "MAX_TOKENS"), wantErr: visionjudge.ErrTruncated},
		{name: "gemini malformed json", provider: "gemini", status: 200, body: geminiText("Sure! Here is my rating: 88/100", "STOP"), wantErr: visionjudge.ErrMalformed},
		{name: "gemini no candidates", provider: "gemini", status: 200, body: `{"candidates": []}`, wantErr: visionjudge.ErrMalformed},
		{name: "gemini overloaded", provider: "gemini", status: 503,
			body: `{"error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}}`, wantErr: visionjudge.ErrHTTP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			var judge visionjudge.Judge
			if tt.provider == "openai" {
				srv := openAIServer(t, tt.status, tt.body, &calls)
				judge = &visionjudge.OpenAI{BaseURL: srv.URL, APIKey: "sk-test", Client: srv.Client()}
			} else {
				srv := geminiServer(t, tt.status, tt.body, &calls)
				judge = &visionjudge.Gemini{BaseURL: srv.URL, APIKey: "g-test", Model: "gemini-test", Client: srv.Client()}
			}
			got, err := judge.Rate(context.Background(), testPNG(t), "image/png")
			require.Equal(t, int32(1), calls.Load())
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				for _, other := range []error{visionjudge.ErrRefused, visionjudge.ErrTruncated, visionjudge.ErrMalformed, visionjudge.ErrHTTP} {
					if other != tt.wantErr {
						require.False(t, errors.Is(err, other), "%v is not %v", err, other)
					}
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantScore, got.Score)
		})
	}
}

// scene is a clean image the built-in validator passes: smooth gradients
// with some detail.
func scene(t *testing.T) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 256, 256))
	for y := range 256 {
		for x := range 256 {
			v := 128 + 40*math.Sin(float64(x)/9)*math.Cos(float64(y)/13)
			if (x/6+y/10)%2 == 0 { // hard edges: detail for the sharpness check
				v += 50
			}
			img.SetNRGBA(x, y, color.NRGBA{uint8(v), uint8(255 - v), uint8(x), 255})
		}
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

func TestValidatorBlends(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := quality.New(0)
	clean := scene(t)
	builtin, err := base.Validate(ctx, clean, generation.ValidationSpec{})
	require.NoError(t, err)
	require.True(t, builtin.Passed, "the test scene must pass the built-in validator: %v %v", builtin.Reasons, builtin.Metrics)
	blankImg := image.NewGray(image.Rect(0, 0, 64, 64))
	var blank bytes.Buffer
	require.NoError(t, png.Encode(&blank, blankImg))

	tests := []struct {
		name        string
		image       []byte
		body        string
		wantCalls   int32
		wantPassed  bool
		wantFlagged bool
		wantScore   float64
		wantReason  string
		wantError   float64 // vision_error metric, 0 when none
	}{
		{name: "good rating blends", image: clean, body: openAIChoice(`{"score": 100, "defects": [], "summary": "ok"}`, "", "stop"),
			wantCalls: 1, wantPassed: true, wantScore: math.Round((0.7*builtin.Score+30)*100) / 100},
		{name: "bad rating vetoes", image: clean, body: openAIChoice(`{"score": 0, "defects": ["distorted_anatomy"], "summary": "no"}`, "", "stop"),
			wantCalls: 1, wantPassed: false, wantScore: math.Round(0.7*builtin.Score*100) / 100, wantReason: visionjudge.ReasonVisionLowScore},
		{name: "refusal keeps the built-in verdict, flagged", image: clean, body: openAIChoice("", "I can't help with that.", "stop"),
			wantCalls: 1, wantPassed: true, wantFlagged: true, wantScore: builtin.Score, wantError: 1},
		{name: "malformed keeps the built-in verdict, flagged", image: clean, body: openAIChoice("{not json", "", "stop"),
			wantCalls: 1, wantPassed: true, wantFlagged: true, wantScore: builtin.Score, wantError: 2},
		{name: "a failed image is not sent", image: blank.Bytes(), body: openAIChoice(goodRating, "", "stop"),
			wantCalls: 0, wantPassed: false, wantScore: 0, wantReason: quality.ReasonBlank},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			srv := openAIServer(t, 200, tt.body, &calls)
			v := &visionjudge.Validator{Base: base, Judge: &visionjudge.OpenAI{BaseURL: srv.URL, APIKey: "sk-test", Client: srv.Client()}}
			got, err := v.Validate(ctx, tt.image, generation.ValidationSpec{})
			require.NoError(t, err)
			require.Equal(t, tt.wantCalls, calls.Load())
			require.Equal(t, tt.wantPassed, got.Passed, "%v %v", got.Reasons, got.Metrics)
			require.Equal(t, tt.wantFlagged, got.Flagged)
			if tt.wantReason != "" {
				require.Contains(t, got.Reasons, tt.wantReason)
			}
			if tt.name != "a failed image is not sent" {
				require.InDelta(t, tt.wantScore, got.Score, 0.011)
			} else {
				require.LessOrEqual(t, got.Score, 10.0)
			}
			require.Equal(t, tt.wantError, got.Metrics[visionjudge.MetricVisionError])
			require.Equal(t, "q3.3.0+vision:openai/gpt-4.1-mini:w0.3", got.ValidatorVersion)
		})
	}
}

func TestFromEnv(t *testing.T) {
	t.Parallel()
	base := quality.New(0)
	tests := []struct {
		name        string
		env         map[string]string
		wantVersion string
		wantErr     string
	}{
		{name: "off by default", env: nil, wantVersion: "q3.3.0"},
		{name: "openai", env: map[string]string{"VALIDATION_VISION_PROVIDER": "openai", "OPENAI_API_KEY": "k"},
			wantVersion: "q3.3.0+vision:openai/gpt-4.1-mini:w0.3"},
		{name: "gemini with model and weight", env: map[string]string{"VALIDATION_VISION_PROVIDER": "Gemini", "GEMINI_API_KEY": "k",
			"VALIDATION_VISION_MODEL": "gemini-x", "VALIDATION_VISION_WEIGHT": "0.5"}, wantVersion: "q3.3.0+vision:gemini/gemini-x:w0.5"},
		{name: "no key in this function: same version", env: map[string]string{"VALIDATION_VISION_PROVIDER": "openai"},
			wantVersion: "q3.3.0+vision:openai/gpt-4.1-mini:w0.3"},
		{name: "unknown provider", env: map[string]string{"VALIDATION_VISION_PROVIDER": "claude"}, wantErr: "openai or gemini"},
		{name: "bad weight", env: map[string]string{"VALIDATION_VISION_PROVIDER": "openai", "OPENAI_API_KEY": "k", "VALIDATION_VISION_WEIGHT": "2"},
			wantErr: "VALIDATION_VISION_WEIGHT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := visionjudge.FromEnv(base, func(k string) string { return tt.env[k] }, nil)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantVersion, v.Version())
		})
	}
}

func TestJudgeWithoutKeyKeepsTheBuiltInVerdict(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := quality.New(0)
	clean := scene(t)
	builtin, err := base.Validate(ctx, clean, generation.ValidationSpec{})
	require.NoError(t, err)
	v, err := visionjudge.FromEnv(base, func(k string) string { return map[string]string{"VALIDATION_VISION_PROVIDER": "gemini"}[k] }, nil)
	require.NoError(t, err)
	got, err := v.Validate(ctx, clean, generation.ValidationSpec{})
	require.NoError(t, err)
	require.Equal(t, builtin.Passed, got.Passed)
	require.InDelta(t, builtin.Score, got.Score, 0.011)
	require.True(t, got.Flagged, "an image the judge could not rate is flagged for review")
	require.NotZero(t, got.Metrics[visionjudge.MetricVisionError])
}

// Without a client of its own, the judge uses the providers' guarded one: a
// base URL pointing inwards (here a loopback server) is never dialled, and
// the built-in verdict stands, flagged.
func TestFromEnvDefaultClientDialsNoPrivateAddress(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := openAIServer(t, http.StatusOK, goodRating, &calls)
	base := quality.New(0)
	env := map[string]string{"VALIDATION_VISION_PROVIDER": "openai", "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": srv.URL}
	v, err := visionjudge.FromEnv(base, func(k string) string { return env[k] }, nil)
	require.NoError(t, err)
	got, err := v.Validate(context.Background(), scene(t), generation.ValidationSpec{})
	require.NoError(t, err)
	require.Zero(t, calls.Load(), "the judge dialled a loopback address")
	require.True(t, got.Flagged)
	require.NotZero(t, got.Metrics[visionjudge.MetricVisionError])
}
