package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/quality"
)

// MaxIdempotencyKeyLength bounds an idempotency key.
const MaxIdempotencyKeyLength = 200

// idempotencyKeyField names the key in errors: the API's header.
const idempotencyKeyField = "Idempotency-Key"

// submitTimeout bounds the writes of one creation. They run detached from
// the caller's context: once the first write happened, a client that hangs
// up must not leave a recorded generation whose workflow never starts.
const submitTimeout = 30 * time.Second

// startFailedReason is what a client hears when the workflow did not start;
// it never carries the underlying error.
const startFailedReason = "the generation workflow could not be started"

// CreateRequest is a request for a generation, as a transport decoded it.
type CreateRequest struct {
	User string
	// IdempotencyKey (optional) makes a retried request return the same
	// generation: its id derives from (User, IdempotencyKey) under
	// Service.IDSecret.
	IdempotencyKey string
	// Image is the reference image's bytes (PNG, JPEG or WebP).
	Image []byte
	// Settings is the settings JSON object (empty: every default, which
	// fails on the required count).
	Settings []byte
}

// IdempotencyKey checks an idempotency key (surrounding space trimmed): at
// most MaxIdempotencyKeyLength printable ASCII characters; "" is no key.
// Transports may call it before reading a body; Create checks it again.
func IdempotencyKey(key string) (string, error) {
	key = strings.TrimSpace(key)
	if len(key) > MaxIdempotencyKeyLength {
		return "", generation.FieldError(idempotencyKeyField, "must be at most %d characters", MaxIdempotencyKeyLength)
	}
	for i := range len(key) {
		// Printable ASCII only: the key is stored as text and echoed in logs.
		if key[i] < 0x20 || key[i] > 0x7e {
			return "", generation.FieldError(idempotencyKeyField, "must be printable ASCII")
		}
	}
	return key, nil
}

// submission is a fully validated create request.
type submission struct {
	user        string
	key         string
	image       []byte
	contentType string
	ext         string // the reference's object key extension
	features    generation.ReferenceFeatures
	settings    generation.Settings
	fingerprint string // Fingerprint of the request
}

// Create validates the image and settings, then stores the reference image,
// records the generation and starts its workflow. Nothing is written for a
// rejected request. With an idempotency key a retry returns the generation
// the first attempt recorded (starting its workflow if that attempt did
// not). A workflow that cannot start leaves the generation recorded and
// unstarted, so a retry with the same key starts it: EUNAVAILABLE when the
// failure may pass, EINTERNAL when the deployment must change. The writes run detached from ctx's cancellation (bounded by
// 30 s), so a caller that hangs up cannot strand a recorded generation.
func (s *Service) Create(ctx context.Context, req CreateRequest) (generation.Generation, error) {
	sub, err := s.validate(ctx, req)
	if err != nil {
		return generation.Generation{}, err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), submitTimeout)
	defer cancel()
	return s.submit(ctx, sub)
}

// validate checks everything before anything is written.
func (s *Service) validate(ctx context.Context, req CreateRequest) (submission, error) {
	key, err := IdempotencyKey(req.IdempotencyKey)
	if err != nil {
		return submission{}, err
	}
	if req.User == "" {
		return submission{}, generation.Errorf(generation.EUNAUTHORIZED, "authentication required")
	}
	if len(req.Image) == 0 {
		return submission{}, generation.FieldError("image", "is required")
	}
	features, contentType, err := quality.Inspect(req.Image)
	if err != nil {
		return submission{}, s.imageError(ctx, err)
	}
	ext, err := referenceExt(contentType)
	if err != nil {
		return submission{}, err
	}
	parsed, err := generation.ParseSettings(req.Settings, s.Defaults)
	if err != nil {
		return submission{}, err
	}
	if parsed.WebhookURL != "" {
		if len(s.WebhookHosts) == 0 {
			return submission{}, generation.FieldError("webhookUrl", "webhooks are not enabled on this deployment (WEBHOOK_ALLOWED_HOSTS is empty)")
		}
		if !generation.WebhookHostAllowed(parsed.WebhookURL, s.WebhookHosts) {
			return submission{}, generation.FieldError("webhookUrl", "host is not one this deployment calls (WEBHOOK_ALLOWED_HOSTS)")
		}
	}
	fingerprint, err := Fingerprint(parsed, req.Image)
	if err != nil {
		return submission{}, err
	}
	return submission{
		fingerprint: fingerprint,
		user:        req.User,
		key:         key,
		image:       req.Image,
		contentType: contentType,
		ext:         ext,
		features:    features,
		settings:    parsed,
	}, nil
}

// imageError names the image field on quality's coded errors. An uncoded
// error still comes from the user's bytes, so it is EINVALID, not internal.
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
	var err error
	id := generation.NewID()
	if sub.key != "" {
		if id, err = s.idempotentID(sub.user, sub.key); err != nil {
			return generation.Generation{}, err
		}
		existing, err := s.Store.Generation(ctx, id)
		switch {
		case err == nil:
			if err := sameRequest(existing, sub.fingerprint); err != nil {
				return generation.Generation{}, err
			}
			return s.resume(ctx, sub.user, existing)
		case generation.ErrorCode(err) != generation.ENOTFOUND:
			return generation.Generation{}, fmt.Errorf("look up generation %s: %w", id, err)
		}
	}
	provider, model, err := s.resolveProvider(ctx, sub.settings)
	if err != nil {
		return generation.Generation{}, err
	}
	explicitCost := sub.settings.MaxCostUSD > 0
	if sub.settings, err = s.applyLimits(ctx, sub.user, sub.settings); err != nil {
		return generation.Generation{}, err
	}
	if !explicitCost {
		sub.settings.MaxCostUSD = s.defaultBudget(sub.settings, provider, model)
	}
	refKey := generation.ReferenceKey(id, sub.ext)
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
		RequestFingerprint:   sub.fingerprint,
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
		if err := sameRequest(stored, sub.fingerprint); err != nil {
			return generation.Generation{}, err
		}
		return s.resume(ctx, sub.user, stored)
	}
	return s.start(ctx, stored)
}

// Fingerprint identifies a create request for Idempotency-Key checks: the
// hex SHA-256 of the settings as parsed (defaults applied, so `{"count": 4}`
// and `{"count": 4, "maxRounds": 3}` are the same request), a dot, and the
// hex SHA-256 of the reference image's bytes. Its two halves say which part
// of a reused key's request differs.
func Fingerprint(settings generation.Settings, image []byte) (string, error) {
	canonical, err := json.Marshal(settings)
	if err != nil {
		return "", fmt.Errorf("encode settings: %w", err)
	}
	a, b := sha256.Sum256(canonical), sha256.Sum256(image)
	return hex.EncodeToString(a[:]) + "." + hex.EncodeToString(b[:]), nil
}

// sameRequest refuses a reused Idempotency-Key whose request differs from
// the one that created g (ECONFLICT naming what differs), and one whose
// generation was deleted. Generations stored before fingerprints were kept
// have none and are taken as the same request.
func sameRequest(g generation.Generation, fingerprint string) error {
	if g.DeletedAt != nil {
		return &generation.Error{Code: generation.ECONFLICT, Field: idempotencyKeyField,
			Message: "was used for a generation that has since been deleted; use a new key"}
	}
	if g.RequestFingerprint == "" || g.RequestFingerprint == fingerprint {
		return nil
	}
	gotSettings, gotImage, _ := strings.Cut(g.RequestFingerprint, ".")
	wantSettings, wantImage, _ := strings.Cut(fingerprint, ".")
	var differs []string
	if gotSettings != wantSettings {
		differs = append(differs, "settings")
	}
	if gotImage != wantImage {
		differs = append(differs, "image")
	}
	return &generation.Error{Code: generation.ECONFLICT, Field: idempotencyKeyField,
		Message: "was already used with different " + strings.Join(differs, " and ") + "; send the same request again or use a new key"}
}

// resolveProvider fixes the generation's provider and model at creation:
// "auto" is chosen once, so every round and every statistic of the
// generation is attributed to one provider.
func (s *Service) resolveProvider(ctx context.Context, set generation.Settings) (provider, model string, err error) {
	if set.Provider != generation.AutoProvider {
		return set.Provider, set.Model, nil
	}
	if set.Model != "" {
		return "", "", generation.FieldError("model", "cannot be set with provider %q: a model belongs to one provider", generation.AutoProvider)
	}
	if s.ProviderChooser == nil {
		return "", "", generation.FieldError("provider", "%q is not available on this deployment", generation.AutoProvider)
	}
	if provider, model, err = s.ProviderChooser.Choose(ctx); err != nil {
		s.logger().ErrorContext(ctx, "choose provider", "error", err)
		return "", "", generation.Errorf(generation.EUNAVAILABLE, "no provider could be chosen for %q; try again later or name one", generation.AutoProvider)
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

// start starts the workflow. If it cannot start, the generation stays as it
// is (not final, no execution), so that a retry with the same
// Idempotency-Key starts it (resume); nothing is burnt. A transient failure
// is EUNAVAILABLE (503: retry later), a permanent one EINTERNAL.
func (s *Service) start(ctx context.Context, g generation.Generation) (generation.Generation, error) {
	arn, err := s.Starter.Start(ctx, g.ID)
	if err != nil {
		s.logger().ErrorContext(ctx, "start generation workflow", "generation", g.ID, "error", err)
		if generation.ErrorCode(err) == generation.EUNAVAILABLE {
			return generation.Generation{}, generation.Errorf(generation.EUNAVAILABLE, "%s; retry with the same Idempotency-Key", startFailedReason)
		}
		return generation.Generation{}, generation.Errorf(generation.EINTERNAL, "%s: the workflow service refused it", startFailedReason)
	}
	if err := s.Store.SetExecution(ctx, g.ID, arn); err != nil {
		// The workflow runs regardless; the ARN is bookkeeping, so the
		// caller still gets the generation.
		s.logger().ErrorContext(ctx, "record execution", "generation", g.ID, "execution", arn, "error", err)
	}
	g.ExecutionARN = arn
	return g, nil
}

// defaultBudget is a generation's maxCostUsd when the request names none:
// the limits' default, but no more than the generation can spend at all (its
// image bound at the model's list price), since an unfinished generation
// reserves its budget of the user's day and a cheap model should not hold
// a dear one's.
func (s *Service) defaultBudget(set generation.Settings, provider, model string) float64 {
	if s.UnitCost == nil {
		return set.MaxCostUSD
	}
	price := s.UnitCost(provider, model)
	if price <= 0 {
		return set.MaxCostUSD
	}
	images := set.MaxImages
	if images == 0 {
		images = generation.GenerationBound(set.Count)
	}
	most := float64(images) * price
	if set.MaxCostUSD > 0 {
		return min(set.MaxCostUSD, most)
	}
	return most
}

// applyLimits applies the per-user limits to a new generation's settings
// from the user's usage in the database (a retry with an Idempotency-Key
// that finds its generation never gets here, so it is never refused for
// the generation it created).
func (s *Service) applyLimits(ctx context.Context, user string, set generation.Settings) (generation.Settings, error) {
	var u generation.Usage
	if s.Usage != nil {
		var err error
		now := s.now()
		if u, err = s.Usage.Usage(ctx, user, now.Add(-generation.UsageWindow)); err != nil {
			return set, fmt.Errorf("read usage of %s: %w", user, err)
		}
		return s.Limits.Apply(set, u, now)
	}
	// Without usage only the per-generation cap applies.
	return generation.UserLimits{MaxCostPerGeneration: s.Limits.MaxCostPerGeneration}.Apply(set, u, s.now())
}
