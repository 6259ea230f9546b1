package providertest

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
)

// Recorded is one request a fake server received, its body parsed once: a
// JSON body into JSON, a multipart form into Fields and Files.
type Recorded struct {
	N      int // which call this was, from 1
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	JSON   map[string]any
	Fields map[string]string // the first value of each multipart field
	Files  map[string]File
}

// ContentType is the request's Content-Type header.
func (r Recorded) ContentType() string { return r.Header.Get("Content-Type") }

// File is one file of a multipart form.
type File struct {
	Bytes       []byte
	ContentType string
}

// Responder answers a recorded request.
type Responder func(w http.ResponseWriter, got Recorded)

// Recorder keeps what a fake server received. It is safe for concurrent
// calls; it records a request before answering it, so that a slow answer
// does not hold up reading what was received.
type Recorder struct {
	t   testing.TB
	mu  sync.Mutex
	got []Recorded
}

// NewRecorder records for t; mount its Handler where the fake needs it.
func NewRecorder(t testing.TB) *Recorder { return &Recorder{t: t} }

// Serve starts a fake server that records every request and answers it with
// respond; the server closes when the test ends.
func Serve(t testing.TB, respond Responder) (*httptest.Server, *Recorder) {
	t.Helper()
	rec := NewRecorder(t)
	srv := httptest.NewServer(rec.Handler(respond))
	t.Cleanup(srv.Close)
	return srv, rec
}

// Handler records each request and answers it with respond. A body it cannot
// parse fails the test and is answered 400.
func (rec *Recorder) Handler(respond Responder) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		got, err := parse(r)
		rec.mu.Lock()
		got.N = len(rec.got) + 1
		rec.got = append(rec.got, got)
		rec.mu.Unlock()
		if err != nil {
			rec.t.Errorf("fake server: %s %s: %v", r.Method, r.URL.Path, err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		respond(w, got)
	}
}

func parse(r *http.Request) (Recorded, error) {
	got := Recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone()}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mediaType {
	case "application/json":
		return got, json.NewDecoder(r.Body).Decode(&got.JSON)
	case "multipart/form-data":
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			return got, err
		}
		got.Fields = map[string]string{}
		for k, v := range r.MultipartForm.Value {
			got.Fields[k] = v[0]
		}
		for k, fhs := range r.MultipartForm.File {
			if got.Files == nil {
				got.Files = map[string]File{}
			}
			f, err := fhs[0].Open()
			if err != nil {
				return got, err
			}
			b, err := io.ReadAll(f)
			_ = f.Close()
			if err != nil {
				return got, err
			}
			got.Files[k] = File{Bytes: b, ContentType: fhs[0].Header.Get("Content-Type")}
		}
	default:
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return got, err
		}
		if len(b) > 0 {
			return got, fmt.Errorf("a body of unexpected type %q", r.Header.Get("Content-Type"))
		}
	}
	return got, nil
}

// Requests is what was received so far, in order.
func (rec *Recorder) Requests() []Recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]Recorded(nil), rec.got...)
}

// Calls is how many requests were received.
func (rec *Recorder) Calls() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.got)
}

// Last is the last request received; it fails the test when there was none.
func (rec *Recorder) Last() Recorded {
	rec.t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.got) == 0 {
		rec.t.Fatal("fake server: no request received")
	}
	return rec.got[len(rec.got)-1]
}
