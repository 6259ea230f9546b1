package httpapi

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/quality"
)

// MaxIdempotencyKeyLength bounds the Idempotency-Key header.
const MaxIdempotencyKeyLength = 200

// submitTimeout bounds the writes of one request. They run detached from the
// client's context: once the first write happened, a client that hangs up
// must not leave a recorded generation whose workflow never starts.
const submitTimeout = 30 * time.Second

// startFailedReason is stored on a generation whose workflow did not start;
// users see it, so it never carries the underlying error.
const startFailedReason = "the generation workflow could not be started"

// submission is a fully validated create request.
type submission struct {
	user        string
	key         string // Idempotency-Key, may be empty
	image       []byte
	contentType string
	features    generation.ReferenceFeatures
	settings    generation.Settings
}

// createdBody is the 202 answer of both create routes.
type createdBody struct {
	ID             string            `json:"id"`
	Status         generation.Status `json:"status"`
	RequestedCount int               `json:"requestedCount"`
	Links          links             `json:"links"`
}

type links struct {
	Self string `json:"self"`
}

func selfLink(id string) string { return "/v1/generations/" + id }

// createFromForm serves POST /api/generate/from-image: multipart/form-data
// with a file field `image` and a text field `settings`, as the earlier
// system accepted. Its `userId` field is ignored: identity comes from auth.
func (s *Service) createFromForm(w http.ResponseWriter, r *http.Request, user string) {
	key, err := idempotencyKey(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	image, settings, err := s.readForm(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.create(w, r, user, key, image, settings)
}

// createFromJSON serves POST /v1/generations: {"image": base64, "settings": {…}}.
func (s *Service) createFromJSON(w http.ResponseWriter, r *http.Request, user string) {
	key, err := idempotencyKey(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	image, settings, err := s.readJSON(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.create(w, r, user, key, image, settings)
}

// create validates the image and settings, then records and starts the
// generation and answers 202.
func (s *Service) create(w http.ResponseWriter, r *http.Request, user, key string, image, settings []byte) {
	sub, err := s.validate(r.Context(), user, key, image, settings)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), submitTimeout)
	defer cancel()
	g, err := s.submit(ctx, sub)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", selfLink(g.ID))
	writeJSON(w, http.StatusAccepted, createdBody{
		ID:             g.ID,
		Status:         g.Status,
		RequestedCount: g.RequestedCount,
		Links:          links{Self: selfLink(g.ID)},
	})
}

// idempotencyKey reads the optional Idempotency-Key header.
func idempotencyKey(r *http.Request) (string, error) {
	key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if len(key) > MaxIdempotencyKeyLength {
		return "", generation.FieldError("Idempotency-Key", "must be at most %d characters", MaxIdempotencyKeyLength)
	}
	for i := range len(key) {
		// Printable ASCII only: the key is stored as text and echoed in logs.
		if key[i] < 0x20 || key[i] > 0x7e {
			return "", generation.FieldError("Idempotency-Key", "must be printable ASCII")
		}
	}
	return key, nil
}

// mediaType checks the request's Content-Type against the one a route expects.
func mediaType(r *http.Request, want string) (map[string]string, error) {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != want {
		return nil, generation.Errorf(generation.EUNSUPPORTED, "Content-Type must be %s, got %q", want, ct)
	}
	return params, nil
}

// bodyError maps a failed body read onto a coded error: too large, or a
// malformed body.
func (s *Service) bodyError(err error, what string) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return generation.Errorf(generation.ETOOLARGE, "request body is larger than %d bytes", s.maxBodyBytes())
	}
	return generation.FieldError("body", "is not a valid %s body", what)
}

// readForm reads the multipart parts into memory (bounded by MaxBodyBytes);
// nothing is spooled to disk.
func (s *Service) readForm(w http.ResponseWriter, r *http.Request) (image, settings []byte, err error) {
	params, err := mediaType(r, "multipart/form-data")
	if err != nil {
		return nil, nil, err
	}
	if params["boundary"] == "" {
		return nil, nil, generation.FieldError("Content-Type", "multipart/form-data needs a boundary")
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBodyBytes())
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, nil, s.bodyError(err, "multipart")
	}
	seen := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, s.bodyError(err, "multipart")
		}
		name := part.FormName()
		switch {
		case name != "image" && name != "settings" && name != "userId":
			return nil, nil, generation.FieldError(cmp.Or(name, "body"), "is not a known form field (want image, settings)")
		case seen[name]:
			return nil, nil, generation.FieldError(name, "is given more than once")
		}
		seen[name] = true
		data, err := io.ReadAll(part)
		if err != nil {
			return nil, nil, s.bodyError(err, "multipart")
		}
		switch name {
		case "image":
			image = data
		case "settings":
			settings = data
		}
		// userId is read and dropped: the earlier system took the user from
		// the body; the authenticated identity replaces it.
	}
	return image, settings, nil
}

// jsonRequest is the body of POST /v1/generations.
type jsonRequest struct {
	Image    *string         `json:"image"`
	Settings json.RawMessage `json:"settings"`
}

func (s *Service) readJSON(w http.ResponseWriter, r *http.Request) (image, settings []byte, err error) {
	if _, err := mediaType(r, "application/json"); err != nil {
		return nil, nil, err
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBodyBytes())
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	var req jsonRequest
	if err := dec.Decode(&req); err != nil {
		return nil, nil, s.jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, nil, s.bodyError(err, "JSON")
		}
		return nil, nil, generation.FieldError("body", "must be a single JSON object")
	}
	if req.Image == nil || *req.Image == "" {
		return nil, req.Settings, nil
	}
	image, err = base64.StdEncoding.DecodeString(*req.Image)
	if err != nil {
		return nil, nil, generation.FieldError("image", "is not valid base64")
	}
	return image, req.Settings, nil
}

// jsonError names the offending field of a body that did not decode.
func (s *Service) jsonError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return s.bodyError(err, "JSON")
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if typeErr.Field == "" {
			return generation.FieldError("body", "must be a JSON object")
		}
		return generation.FieldError(typeErr.Field, "must be a %s", typeErr.Type.String())
	}
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return generation.FieldError(strings.Trim(field, `"`), "is not a known field (want image, settings)")
	}
	return generation.FieldError("body", "is not valid JSON")
}

// validate checks everything before anything is written.
func (s *Service) validate(ctx context.Context, user, key string, image, settings []byte) (submission, error) {
	if len(image) == 0 {
		return submission{}, generation.FieldError("image", "is required")
	}
	features, contentType, err := quality.Inspect(image)
	if err != nil {
		return submission{}, s.imageError(ctx, err)
	}
	if _, err := referenceExt(contentType); err != nil {
		return submission{}, err
	}
	parsed, err := generation.ParseSettings(settings, s.Defaults)
	if err != nil {
		return submission{}, err
	}
	return submission{
		user:        user,
		key:         key,
		image:       image,
		contentType: contentType,
		features:    features,
		settings:    parsed,
	}, nil
}

// imageError names the image field on quality's coded errors. An uncoded
// error still comes from the user's bytes, so it is a 400, not a 500.
func (s *Service) imageError(ctx context.Context, err error) error {
	var e *generation.Error
	if !errors.As(err, &e) {
		s.logger().WarnContext(ctx, "reference image rejected with an uncoded error", "error", err)
		return generation.FieldError("image", "could not be read as an image")
	}
	coded := *e
	if coded.Field == "" {
		coded.Field = "image"
	}
	return &coded
}

// referenceExt is the object key extension of an accepted image type.
func referenceExt(contentType string) (string, error) {
	switch contentType {
	case "image/png":
		return "png", nil
	case "image/jpeg":
		return "jpg", nil
	case "image/webp":
		return "webp", nil
	}
	return "", &generation.Error{Code: generation.EUNSUPPORTED, Field: "image", Message: "must be PNG, JPEG or WebP"}
}

// submit records the generation and starts its workflow. With an
// idempotency key the id is derived from (user, key), so a retry finds the
// first attempt's generation and neither uploads nor starts again.
func (s *Service) submit(ctx context.Context, sub submission) (generation.Generation, error) {
	id := generation.NewID()
	if sub.key != "" {
		id = generation.EventID("generation", sub.user, sub.key)
		existing, err := s.Store.Generation(ctx, id)
		switch {
		case err == nil:
			return s.resume(ctx, sub.user, existing)
		case generation.ErrorCode(err) != generation.ENOTFOUND:
			return generation.Generation{}, fmt.Errorf("look up generation %s: %w", id, err)
		}
	}
	ext, err := referenceExt(sub.contentType)
	if err != nil {
		return generation.Generation{}, err
	}
	provider, model, err := s.resolveProvider(ctx, sub.settings)
	if err != nil {
		return generation.Generation{}, err
	}
	refKey := generation.ReferenceKey(id, ext)
	if err := s.Objects.Put(ctx, refKey, sub.image, sub.contentType, map[string]string{"generation-id": id}); err != nil {
		return generation.Generation{}, fmt.Errorf("store reference %s: %w", refKey, err)
	}
	g := generation.Generation{
		ID:                   id,
		UserID:               sub.user,
		Status:               generation.StatusPlanning,
		RequestedCount:       sub.settings.Count,
		Settings:             sub.settings,
		Provider:             provider,
		Model:                model,
		BasePrompt:           sub.settings.Prompt,
		ReferenceKey:         refKey,
		ReferenceContentType: sub.contentType,
		ReferenceFeatures:    sub.features,
		BufferMethod:         generation.BufferAuto,
		TargetConfidence:     sub.settings.TargetConfidence,
		IdempotencyKey:       sub.key,
		CreatedAt:            s.now(),
	}
	if !sub.settings.BufferPercent.Auto {
		g.BufferMethod = generation.BufferFixed
		g.BufferPercent = sub.settings.BufferPercent.Percent
	}
	stored, created, err := s.Store.CreateGeneration(ctx, g)
	if err != nil {
		return generation.Generation{}, fmt.Errorf("create generation %s: %w", id, err)
	}
	if !created {
		// A concurrent retry with the same key won the insert.
		return s.resume(ctx, sub.user, stored)
	}
	return s.start(ctx, stored)
}

// AutoProvider is the provider setting resolved by a ProviderChooser.
const AutoProvider = "auto"

// ProviderChooser resolves settings.provider "auto" to the enabled provider
// and model with the lowest expected cost per delivered image.
type ProviderChooser interface {
	Choose(ctx context.Context) (provider, model string, err error)
}

// resolveProvider fixes the generation's provider and model at creation:
// "auto" is chosen once, so every round and every statistic of the
// generation is attributed to one provider.
func (s *Service) resolveProvider(ctx context.Context, set generation.Settings) (provider, model string, err error) {
	if set.Provider != AutoProvider {
		return set.Provider, set.Model, nil
	}
	if set.Model != "" {
		return "", "", generation.FieldError("model", "cannot be set with provider %q: a model belongs to one provider", AutoProvider)
	}
	if s.Providers == nil {
		return "", "", generation.FieldError("provider", "%q is not available on this deployment", AutoProvider)
	}
	if provider, model, err = s.Providers.Choose(ctx); err != nil {
		s.logger().ErrorContext(ctx, "choose provider", "error", err)
		return "", "", generation.Errorf(generation.EUNAVAILABLE, "no provider could be chosen for %q; try again later or name one", AutoProvider)
	}
	return provider, model, nil
}

// resume answers a retry with the generation the first attempt recorded. It
// starts the workflow only if that attempt stopped before starting it (the
// Starter starts once per generation, so a race is harmless).
func (s *Service) resume(ctx context.Context, user string, g generation.Generation) (generation.Generation, error) {
	if g.UserID != user {
		// Only a hash collision gets here; never reveal the other generation.
		return generation.Generation{}, generation.Errorf(generation.ECONFLICT, "Idempotency-Key cannot be used")
	}
	if g.ExecutionARN != "" || g.Status.Final() {
		return g, nil
	}
	return s.start(ctx, g)
}

// start starts the workflow. If it cannot start, the generation is marked
// failed (nothing would ever run it) and the client gets a 503.
func (s *Service) start(ctx context.Context, g generation.Generation) (generation.Generation, error) {
	arn, err := s.Starter.Start(ctx, g.ID)
	if err != nil {
		s.logger().ErrorContext(ctx, "start generation workflow", "generation", g.ID, "error", err)
		if mErr := s.Store.MarkGenerationFailed(ctx, g.ID, startFailedReason, s.now()); mErr != nil {
			s.logger().ErrorContext(ctx, "mark generation failed", "generation", g.ID, "error", mErr)
		}
		return generation.Generation{}, generation.Errorf(generation.EUNAVAILABLE, "%s; try again later", startFailedReason)
	}
	if err := s.Store.SetExecution(ctx, g.ID, arn); err != nil {
		// The workflow runs regardless; the ARN is bookkeeping, so the
		// client still gets its 202.
		s.logger().ErrorContext(ctx, "record execution", "generation", g.ID, "execution", arn, "error", err)
	}
	g.ExecutionARN = arn
	return g, nil
}
