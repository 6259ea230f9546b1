package httpapi

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/designerbff/pipeline/shared/app"
	"github.com/designerbff/pipeline/shared/generation"
)

// createdBody is the 202 answer of both create routes.
type createdBody struct {
	ID             string            `json:"id"`
	Status         generation.Status `json:"status"`
	RequestedCount int               `json:"requestedCount"`
	Links          Links             `json:"links"`
}

// Links are a resource's related URLs.
type Links struct {
	Self string `json:"self"`
}

func selfLink(id string) string { return "/v1/generations/" + id }

// bodyReader reads a create request's image and settings from its body.
type bodyReader func(s *Service, w http.ResponseWriter, r *http.Request) (image, settings []byte, err error)

// createFrom serves a create route whose body read decodes: POST
// /api/generate/from-image is multipart/form-data with a file field `image`
// and a text field `settings`, as the earlier system accepted (its `userId`
// field is ignored: identity comes from auth); POST /v1/generations is
// {"image": base64, "settings": {…}}.
func (s *Service) createFrom(read bodyReader) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, r *http.Request, user string) {
		key, err := idempotencyKey(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		image, settings, err := read(s, w, r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.create(w, r, user, key, image, settings)
	}
}

// create calls the create operation and answers 202.
func (s *Service) create(w http.ResponseWriter, r *http.Request, user, key string, image, settings []byte) {
	g, err := s.App.Create(r.Context(), app.CreateRequest{User: user, IdempotencyKey: key, Image: image, Settings: settings})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", selfLink(g.ID))
	writeJSON(w, http.StatusAccepted, createdBody{
		ID:             g.ID,
		Status:         g.Status,
		RequestedCount: g.RequestedCount,
		Links:          Links{Self: selfLink(g.ID)},
	})
}

// idempotencyKey reads the optional Idempotency-Key header, checked before
// the body is read.
func idempotencyKey(r *http.Request) (string, error) {
	return app.IdempotencyKey(r.Header.Get("Idempotency-Key"))
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
		return tooLargeError(s.maxBodyBytes())
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

// requestJSON decodes the body of POST /v1/generations.
var requestJSON = generation.StrictJSON{
	Field:     "body",
	NotObject: "must be a JSON object",
	Malformed: "is not valid JSON",
	Unknown:   "is not a known field (want image, settings)",
}

func (s *Service) readJSON(w http.ResponseWriter, r *http.Request) (image, settings []byte, err error) {
	var req jsonRequest
	if err := decodeJSON(w, r, s.maxBodyBytes(), requestJSON, &req); err != nil {
		return nil, nil, err
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

// decodeJSON decodes an application/json body of at most limit bytes into v
// with strict: over the limit is ETOOLARGE, a body that cannot be read is
// strict's Malformed.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, strict generation.StrictJSON, v any) error {
	if _, err := mediaType(r, "application/json"); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return tooLargeError(limit)
	case err != nil:
		return generation.FieldError(strict.Field, "%s", strict.Malformed)
	}
	return strict.Decode(body, v)
}

func tooLargeError(limit int64) error {
	return generation.Errorf(generation.ETOOLARGE, "request body is larger than %d bytes", limit)
}
