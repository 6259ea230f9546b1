package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/pgtest"
	"github.com/designerbff/pipeline/infra/local/s3local"
	"github.com/designerbff/pipeline/shared/app"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/httpapi"
	"github.com/designerbff/pipeline/shared/postgres"
	"github.com/designerbff/pipeline/shared/r2"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const validatorVersion = "test-v1"

var testNow = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// recordingStarter stands in for the Step Functions client, which cannot run
// here: it records the generation ids it was asked to start.
type recordingStarter struct {
	mu  sync.Mutex
	ids []string
	err error
}

func (s *recordingStarter) Start(_ context.Context, generationID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids = append(s.ids, generationID)
	if s.err != nil {
		return "", s.err
	}
	return "arn:aws:states:us-east-1:123456789012:execution:generation:" + generationID, nil
}

func (s *recordingStarter) started() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ids...)
}

// env is a Service over a fresh migrated database and a fresh S3 server.
type env struct {
	svc     *httpapi.Service
	app     *app.Service
	pg      *postgres.Store
	pool    *pgxpool.Pool
	store   generation.Store
	objects *r2.Store
	starter *recordingStarter
	handler http.Handler
}

const testIDSecret = "httpapi-test-generation-id-secret-0123456789"

func newEnv(t *testing.T, configure ...func(*env)) *env {
	t.Helper()
	pool := pgtest.NewDB(t)
	srv, err := s3local.Start()
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	objects, err := r2.New(r2.Config{
		Endpoint:        srv.URL(),
		Bucket:          "images",
		AccessKeyID:     "local",
		SecretAccessKey: "local-secret",
		UsePathStyle:    true,
	})
	require.NoError(t, err)
	require.NoError(t, objects.EnsureBucket(t.Context()))

	pg := postgres.NewStore(pool)
	e := &env{pool: pool, pg: pg, store: pg, objects: objects, starter: &recordingStarter{}}
	e.app = &app.Service{
		Store:            pg,
		Objects:          objects,
		Starter:          e.starter,
		Defaults:         generation.Defaults{TargetConfidence: 0.9, Provider: "procedural"},
		ValidatorVersion: validatorVersion,
		IDSecret:         []byte(testIDSecret),
		Logger:           slog.New(slog.DiscardHandler),
		Now:              func() time.Time { return testNow },
	}
	e.svc = &httpapi.Service{
		App:       e.app,
		LocalAuth: true,
		Logger:    slog.New(slog.DiscardHandler),
	}
	for _, f := range configure {
		f(e)
	}
	e.handler = e.svc.Handler()
	return e
}

// request is one call to the net/http handler.
type request struct {
	method      string
	path        string
	user        string // sent as `Authorization: Bearer <user>` when set
	contentType string
	body        []byte
	header      map[string]string
}

func (e *env) do(t *testing.T, req request) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequestWithContext(t.Context(), req.method, req.path, bytes.NewReader(req.body))
	if req.user != "" {
		r.Header.Set("Authorization", "Bearer "+req.user)
	}
	if req.contentType != "" {
		r.Header.Set("Content-Type", req.contentType)
	}
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, r)
	return rec
}

func (e *env) generationCount(t *testing.T) int {
	t.Helper()
	var n int
	require.NoError(t, e.pool.QueryRow(t.Context(), "SELECT count(*) FROM generations").Scan(&n))
	return n
}

func (e *env) objectKeys(t *testing.T) []string {
	t.Helper()
	out, err := e.objects.Client().ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(e.objects.Bucket())})
	require.NoError(t, err)
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

// requireNothingWritten asserts that a rejected request left no trace.
func (e *env) requireNothingWritten(t *testing.T) {
	t.Helper()
	require.Zero(t, e.generationCount(t), "generation rows")
	require.Empty(t, e.objectKeys(t), "objects")
	require.Empty(t, e.starter.started(), "started executions")
}

// apiError is the JSON error body.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

func requireError(t *testing.T, status int, header http.Header, body []byte, wantStatus int, wantCode, wantField string) apiError {
	t.Helper()
	require.Equal(t, wantStatus, status, "body: %s", body)
	require.Contains(t, header.Get("Content-Type"), "application/json")
	var e apiError
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&e), "body: %s", body)
	require.Equal(t, wantCode, e.Error.Code, "body: %s", body)
	require.Equal(t, wantField, e.Error.Field, "body: %s", body)
	require.NotEmpty(t, e.Error.Message)
	return e
}

// created is the 202 body.
type created struct {
	ID             string `json:"id"`
	Status         string `json:"status"`
	RequestedCount int    `json:"requestedCount"`
	Links          struct {
		Self string `json:"self"`
	} `json:"links"`
}

func requireCreated(t *testing.T, status int, header http.Header, body []byte) created {
	t.Helper()
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)
	var c created
	require.NoError(t, json.Unmarshal(body, &c))
	require.True(t, generation.IsUUID(c.ID), c.ID)
	require.Equal(t, "/v1/generations/"+c.ID, header.Get("Location"))
	require.Equal(t, "/v1/generations/"+c.ID, c.Links.Self)
	// encoding/json matches keys without regard to case; the wire must not.
	require.Contains(t, string(body), `"links":{"self":"/v1/generations/`+c.ID+`"}`)
	return c
}

// pngImage encodes a w×h gradient tinted by seed.
func pngImage(t *testing.T, w, h int, seed uint8) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{R: uint8(x * 255 / w), G: uint8(y * 255 / h), B: seed, A: 255})
		}
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

// hugePNG is a PNG whose header declares w×h pixels, with no pixel data.
func hugePNG(w, h uint32) []byte {
	var buf bytes.Buffer
	buf.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		_ = binary.Write(&buf, binary.BigEndian, uint32(len(data)))
		buf.WriteString(typ)
		buf.Write(data)
		_ = binary.Write(&buf, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // 8-bit RGB, no interlace
	chunk("IHDR", ihdr)
	chunk("IEND", nil)
	return buf.Bytes()
}

// part is one multipart/form-data field; a filename makes it a file part.
type part struct {
	name     string
	filename string
	data     []byte
}

func formBody(t *testing.T, parts ...part) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		var w io.Writer
		var err error
		if p.filename != "" {
			w, err = mw.CreateFormFile(p.name, p.filename)
		} else {
			w, err = mw.CreateFormField(p.name)
		}
		require.NoError(t, err)
		_, err = w.Write(p.data)
		require.NoError(t, err)
	}
	require.NoError(t, mw.Close())
	return buf.Bytes(), mw.FormDataContentType()
}

func jsonBody(t *testing.T, image []byte, settings any) []byte {
	t.Helper()
	body, err := json.Marshal(map[string]any{"image": base64.StdEncoding.EncodeToString(image), "settings": settings})
	require.NoError(t, err)
	return body
}

// fetch GETs a URL (a presigned one) and returns its body.
func fetch(t *testing.T, url string) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { require.NoError(t, resp.Body.Close()) }()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return body
}

var errStartRefused = errors.New("sfn: AccessDeniedException: not authorized to perform states:StartExecution")
