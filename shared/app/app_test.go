package app_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/designerbff/pipeline/shared/app"
	"github.com/designerbff/pipeline/shared/generation"
)

// memStore is the part of generation.Store the API's operations use, in
// memory. Calling any other method panics (the embedded nil interface).
type memStore struct {
	generation.Store
	mu          sync.Mutex
	generations map[string]generation.Generation
	candidates  map[string]generation.Candidate
	stats       map[string][]generation.ProviderStats
	failed      map[string]string
}

func newMemStore() *memStore {
	return &memStore{generations: map[string]generation.Generation{}, candidates: map[string]generation.Candidate{},
		stats: map[string][]generation.ProviderStats{}, failed: map[string]string{}}
}

func (m *memStore) CreateGeneration(_ context.Context, g generation.Generation) (generation.Generation, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.generations[g.ID]; ok {
		return old, false, nil
	}
	m.generations[g.ID] = g
	return g, true, nil
}

func (m *memStore) Generation(_ context.Context, id string) (generation.Generation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g, ok := m.generations[id]
	if !ok {
		return generation.Generation{}, generation.Errorf(generation.ENOTFOUND, "no generation %s", id)
	}
	return g, nil
}

func (m *memStore) SetExecution(_ context.Context, id, arn string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.generations[id]
	g.ExecutionARN = arn
	m.generations[id] = g
	return nil
}

func (m *memStore) MarkGenerationFailed(_ context.Context, id, reason string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failed[id] = reason
	return nil
}

func (m *memStore) Candidate(_ context.Context, id, _ string) (generation.Candidate, error) {
	c, ok := m.candidates[id]
	if !ok {
		return generation.Candidate{}, generation.Errorf(generation.ENOTFOUND, "no candidate %s", id)
	}
	return c, nil
}

func (m *memStore) Candidates(_ context.Context, generationID, _ string) ([]generation.Candidate, error) {
	var out []generation.Candidate
	for _, c := range m.candidates {
		if c.GenerationID == generationID {
			out = append(out, c)
		}
	}
	return out, nil
}

func (m *memStore) ProviderStats(_ context.Context, provider string) ([]generation.ProviderStats, error) {
	return m.stats[provider], nil
}

type memObjects struct {
	generation.ObjectStore
	puts []string
}

func (o *memObjects) Put(_ context.Context, key string, _ []byte, _ string, _ map[string]string) error {
	o.puts = append(o.puts, key)
	return nil
}

func (o *memObjects) PresignGet(_ context.Context, key string, _ time.Duration) (string, error) {
	return "https://objects.test/" + key, nil
}

type starter struct {
	ids []string
	err error
}

func (s *starter) Start(_ context.Context, id string) (string, error) {
	s.ids = append(s.ids, id)
	if s.err != nil {
		return "", s.err
	}
	return "arn:" + id, nil
}

type chooser struct {
	provider, model string
	err             error
}

func (c chooser) Choose(context.Context) (string, string, error) { return c.provider, c.model, c.err }

type publisher struct {
	events []generation.FeedbackEvent
	err    error
}

func (p *publisher) Publish(_ context.Context, events []generation.FeedbackEvent) error {
	p.events = append(p.events, events...)
	return p.err
}

type fixture struct {
	svc     *app.Service
	store   *memStore
	objects *memObjects
	starter *starter
}

const testIDSecret = "app-test-generation-id-secret-0123456789"

func newFixture() *fixture {
	f := &fixture{store: newMemStore(), objects: &memObjects{}, starter: &starter{}}
	f.svc = &app.Service{
		Store: f.store, Objects: f.objects, Starter: f.starter,
		Defaults: generation.Defaults{TargetConfidence: 0.9, Provider: "procedural"},
		IDSecret: []byte(testIDSecret),
		Logger:   slog.New(slog.DiscardHandler),
		Now:      func() time.Time { return time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC) },
	}
	return f
}

func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 32, 32))
	for y := range 32 {
		for x := range 32 {
			img.Set(x, y, color.NRGBA{R: uint8(x * 8), G: uint8(y * 8), B: 90, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func requireCode(t *testing.T, err error, code, field string) {
	t.Helper()
	var e *generation.Error
	if !errors.As(err, &e) || e.Code != code || e.Field != field {
		t.Fatalf("got %v, want %s on %q", err, code, field)
	}
}

func TestCreateRecordsAndStarts(t *testing.T) {
	f := newFixture()
	g, err := f.svc.Create(t.Context(), app.CreateRequest{User: "ann", Image: pngBytes(t), Settings: []byte(`{"count": 3, "bufferPercent": 50}`)})
	if err != nil {
		t.Fatal(err)
	}
	if g.ExecutionARN != "arn:"+g.ID || g.Provider != "procedural" || g.BufferMethod != generation.BufferFixed || g.BufferPercent != 50 {
		t.Fatalf("generation %+v", g)
	}
	if len(f.objects.puts) != 1 || f.objects.puts[0] != generation.ReferenceKey(g.ID, "png") {
		t.Fatalf("objects %v", f.objects.puts)
	}
}

func TestCreateRejectsBeforeWriting(t *testing.T) {
	tests := []struct {
		name      string
		req       app.CreateRequest
		code      string
		wantField string
	}{
		{"no image", app.CreateRequest{User: "ann", Settings: []byte(`{"count": 1}`)}, generation.EINVALID, "image"},
		{"not an image", app.CreateRequest{User: "ann", Image: []byte("GIF89a……"), Settings: []byte(`{"count": 1}`)}, generation.EUNSUPPORTED, "image"},
		{"unknown setting", app.CreateRequest{User: "ann", Settings: []byte(`{"count": 1, "colour": "red"}`)}, generation.EINVALID, "colour"},
		{"bad key", app.CreateRequest{User: "ann", IdempotencyKey: "a\x01"}, generation.EINVALID, "Idempotency-Key"},
		{"auto without a chooser", app.CreateRequest{User: "ann", Settings: []byte(`{"count": 1, "provider": "auto"}`)}, generation.EINVALID, "provider"},
		{"auto with a model", app.CreateRequest{User: "ann", Settings: []byte(`{"count": 1, "provider": "auto", "model": "m"}`)}, generation.EINVALID, "model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture()
			if tt.req.Image == nil && tt.wantField != "image" {
				tt.req.Image = pngBytes(t)
			}
			_, err := f.svc.Create(t.Context(), tt.req)
			requireCode(t, err, tt.code, tt.wantField)
			if len(f.store.generations) != 0 || len(f.objects.puts) != 0 || len(f.starter.ids) != 0 {
				t.Fatal("a rejected request wrote something")
			}
		})
	}
}

func TestCreateAutoProvider(t *testing.T) {
	f := newFixture()
	f.svc.ProviderChooser = chooser{provider: "stability", model: "sd3.5-large"}
	g, err := f.svc.Create(t.Context(), app.CreateRequest{User: "ann", Image: pngBytes(t), Settings: []byte(`{"count": 1, "provider": "auto"}`)})
	if err != nil || g.Provider != "stability" || g.Model != "sd3.5-large" {
		t.Fatalf("got %+v, %v", g, err)
	}
	f.svc.ProviderChooser = chooser{err: errors.New("database down")}
	_, err = f.svc.Create(t.Context(), app.CreateRequest{User: "ann", Image: pngBytes(t), Settings: []byte(`{"count": 1, "provider": "auto"}`)})
	requireCode(t, err, generation.EUNAVAILABLE, "")
}

func TestCreateIdempotencyKey(t *testing.T) {
	f := newFixture()
	req := app.CreateRequest{User: "ann", IdempotencyKey: " k1 ", Image: pngBytes(t), Settings: []byte(`{"count": 1}`)}
	first, err := f.svc.Create(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.svc.Create(t.Context(), req)
	if err != nil || second.ID != first.ID || first.ID != app.IdempotentID([]byte(testIDSecret), "ann", "k1") {
		t.Fatalf("retry: %v %v %v", first.ID, second.ID, err)
	}
	if len(f.starter.ids) != 1 || len(f.objects.puts) != 1 {
		t.Fatalf("a retry started %v and stored %v", f.starter.ids, f.objects.puts)
	}
}

// The id of a generation created with an Idempotency-Key cannot be derived
// from the user and the key alone: it is keyed by the server's secret.
func TestIdempotentIDNeedsTheSecret(t *testing.T) {
	t.Parallel()
	a := app.IdempotentID([]byte(testIDSecret), "ann", "k1")
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"a UUID", generation.IsUUID(a)},
		{"same user and key, same id", a == app.IdempotentID([]byte(testIDSecret), "ann", "k1")},
		{"another secret, another id", a != app.IdempotentID([]byte("another-secret-of-32-bytes-or-more!!"), "ann", "k1")},
		{"another key, another id", a != app.IdempotentID([]byte(testIDSecret), "ann", "k2")},
		{"the parts are length-prefixed", a != app.IdempotentID([]byte(testIDSecret), "annk", "1")},
		{"not the earlier unkeyed derivation", a != generation.EventID("generation", "ann", "k1")},
	} {
		if !c.ok {
			t.Errorf("%s: %s", c.name, a)
		}
	}

	f := newFixture()
	f.svc.IDSecret = nil
	_, err := f.svc.Create(t.Context(), app.CreateRequest{User: "ann", IdempotencyKey: "k1", Image: pngBytes(t), Settings: []byte(`{"count": 1}`)})
	if generation.ErrorCode(err) != generation.EINTERNAL || len(f.objects.puts) != 0 {
		t.Fatalf("no secret: want an internal error and nothing stored, got %v, %v", err, f.objects.puts)
	}
}

// A workflow that fails to start burns nothing: the generation stays
// unstarted and not failed, and the same Idempotency-Key retried starts it.
// A transient failure is EUNAVAILABLE, a refusal EINTERNAL.
func TestCreateStartFailureIsResumable(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{generation.Errorf(generation.EUNAVAILABLE, "throttled"), generation.EUNAVAILABLE},
		{generation.Errorf(generation.EINTERNAL, "AccessDenied"), generation.EINTERNAL},
	} {
		f := newFixture()
		req := app.CreateRequest{User: "ann", IdempotencyKey: "k", Image: pngBytes(t), Settings: []byte(`{"count": 1}`)}
		f.starter.err = tt.err
		_, err := f.svc.Create(t.Context(), req)
		requireCode(t, err, tt.want, "")
		if len(f.store.failed) != 0 {
			t.Fatalf("a start failure marked %v failed", f.store.failed)
		}
		f.starter.err = nil
		g, err := f.svc.Create(t.Context(), req)
		if err != nil || g.ExecutionARN != "arn:"+g.ID || g.Status.Final() {
			t.Fatalf("retry: %+v, %v", g, err)
		}
		if len(f.starter.ids) != 2 || f.starter.ids[1] != g.ID || len(f.objects.puts) != 1 {
			t.Fatalf("the retry started %v and stored %v", f.starter.ids, f.objects.puts)
		}
	}
}

// delivered stores a generation of owner with one delivered and one
// discarded candidate and returns their ids.
func (f *fixture) delivered(owner string) (genID, imageID string) {
	genID, imageID = generation.NewID(), generation.NewID()
	f.store.generations[genID] = generation.Generation{ID: genID, UserID: owner, Status: generation.StatusDelivered}
	rank := 1
	f.store.candidates[imageID] = generation.Candidate{ID: imageID, GenerationID: genID, Status: generation.CandidateSelected,
		Rank: &rank, ObjectKey: "k", Provider: "procedural", Modifiers: []string{"calm"},
		Verdict: &generation.Verdict{Score: 88, Passed: true}}
	other := generation.NewID()
	f.store.candidates[other] = generation.Candidate{ID: other, GenerationID: genID, Status: generation.CandidateDiscarded,
		Verdict: &generation.Verdict{Score: 91, Passed: true}}
	return genID, imageID
}

func TestGenerationForItsOwnerOnly(t *testing.T) {
	f := newFixture()
	id, img := f.delivered("ann")
	r, err := f.svc.Generation(t.Context(), "ann", id)
	if err != nil || len(r.Images) != 1 || r.Images[0].ID != img || r.Images[0].URL != "https://objects.test/k" ||
		len(r.Discarded) != 1 || r.DiscardReasons["surplus"] != 1 {
		t.Fatalf("got %+v, %v", r, err)
	}
	for _, tt := range []struct{ user, id string }{{"bob", id}, {"ann", generation.NewID()}, {"ann", "not-a-uuid"}} {
		_, err := f.svc.Generation(t.Context(), tt.user, tt.id)
		requireCode(t, err, generation.ENOTFOUND, "")
	}
}

func TestRate(t *testing.T) {
	f := newFixture()
	pub := &publisher{}
	f.svc.Ratings = pub
	id, img := f.delivered("ann")
	rating := 5
	e, err := f.svc.Rate(t.Context(), app.RateRequest{User: "ann", GenerationID: id, ImageID: img, Rating: &rating, Reasons: []string{"  Great Light "}})
	if err != nil || !e.Positive || e.Weight != 2 || len(pub.events) != 1 || e.Reasons[0] != "great light" {
		t.Fatalf("got %+v, %v", e, err)
	}
	_, err = f.svc.Rate(t.Context(), app.RateRequest{User: "bob", GenerationID: id, ImageID: img, Rating: &rating})
	requireCode(t, err, generation.ENOTFOUND, "")
	bad := 6
	_, err = f.svc.Rate(t.Context(), app.RateRequest{User: "ann", GenerationID: id, ImageID: img, Rating: &bad})
	requireCode(t, err, generation.EINVALID, "rating")
	_, err = f.svc.Rate(t.Context(), app.RateRequest{User: "ann", GenerationID: id, ImageID: img, Rating: &rating, Reasons: []string{" "}})
	requireCode(t, err, generation.EINVALID, "reasons[0]")
	_, err = f.svc.Rate(t.Context(), app.RateRequest{User: "ann", GenerationID: id, ImageID: img, Rating: &rating, Reasons: []string{"ok", "bad\u0085\ufffe"}})
	requireCode(t, err, generation.EINVALID, "reasons[1]")

	f.svc.Ratings = nil
	_, err = f.svc.Rate(t.Context(), app.RateRequest{User: "ann", GenerationID: id, ImageID: img, Rating: &rating})
	requireCode(t, err, generation.EUNAVAILABLE, "")
	f.svc.Ratings = &publisher{err: errors.New("queue down")}
	_, err = f.svc.Rate(t.Context(), app.RateRequest{User: "ann", GenerationID: id, ImageID: img, Rating: &rating})
	requireCode(t, err, generation.EUNAVAILABLE, "")
}

func TestBufferAdviceAndProviderReport(t *testing.T) {
	f := newFixture()
	r, err := f.svc.BufferAdvice(t.Context(), app.BufferQuery{Provider: "procedural", Count: 10})
	// No history: the default 20 %'s cold-start prior, Beta(8.33, 1.67).
	if err != nil || !r.IsDefault || r.PlannedCount != 16 || r.Confidence != 0.9 {
		t.Fatalf("got %+v, %v", r, err)
	}
	for _, tt := range []struct {
		q     app.BufferQuery
		field string
	}{
		{app.BufferQuery{Provider: "no/such", Count: 1}, "providerId"},
		{app.BufferQuery{Provider: "p", Count: 0}, "count"},
		{app.BufferQuery{Provider: "p", Count: 1, Confidence: new(0.2)}, "confidence"},
		{app.BufferQuery{Provider: "p", Count: 1, Model: "a b"}, "model"},
	} {
		_, err := f.svc.BufferAdvice(t.Context(), tt.q)
		requireCode(t, err, generation.EINVALID, tt.field)
	}
	p, err := f.svc.ProviderReport(t.Context(), "procedural")
	if err != nil || p.Models == nil || p.Recommendations == nil {
		t.Fatalf("got %+v, %v", p, err)
	}
}

func TestLearningWithoutReaderIsUnavailable(t *testing.T) {
	f := newFixture()
	_, err := f.svc.Learning(t.Context(), "procedural")
	requireCode(t, err, generation.EUNAVAILABLE, "")
	_, err = f.svc.Learning(t.Context(), "Not A Name")
	requireCode(t, err, generation.EINVALID, "provider")
}
