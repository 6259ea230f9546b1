package app

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/designerbff/pipeline/shared/generation"
)

// Page sizes of ListGenerations.
const (
	DefaultListLimit = 20
	MaxListLimit     = 100
)

// ListRequest asks for a page of the caller's generations, as a transport
// read it from the query string (every field as the client sent it).
type ListRequest struct {
	User   string
	Status string // a generation status, or "" for all
	Limit  string // 1–MaxListLimit, "" for DefaultListLimit
	Cursor string // NextCursor of the previous page, "" for the first
}

// ListPage is one page of a user's generations, newest first.
type ListPage struct {
	Generations []generation.Generation
	// NextCursor continues after the last generation of this page; "" when
	// this page is the last.
	NextCursor string
}

// statuses are the values of ListRequest.Status.
var statuses = []generation.Status{
	generation.StatusPlanning, generation.StatusGenerating, generation.StatusSelecting,
	generation.StatusDelivered, generation.StatusDeliveredBelowThreshold, generation.StatusPartial, generation.StatusFailed,
}

// ListGenerations returns a page of the user's own generations (deleted
// ones excepted), newest first. Paging is by keyset on (createdAt, id): a
// generation created while a client pages lands before its first page, so
// no page repeats or skips one. A bad status, limit or cursor is EINVALID
// naming that parameter.
func (s *Service) ListGenerations(ctx context.Context, req ListRequest) (ListPage, error) {
	if req.User == "" {
		return ListPage{}, generation.Errorf(generation.EUNAUTHORIZED, "authentication required")
	}
	q := generation.ListQuery{Limit: DefaultListLimit}
	if req.Status != "" {
		q.Status = generation.Status(req.Status)
		if !validStatus(q.Status) {
			return ListPage{}, generation.FieldError("status", "must be one of %s", statusList())
		}
	}
	if req.Limit != "" {
		n, err := strconv.Atoi(req.Limit)
		if err != nil || n < 1 || n > MaxListLimit {
			return ListPage{}, generation.FieldError("limit", "must be a whole number from 1 to %d", MaxListLimit)
		}
		q.Limit = n
	}
	if req.Cursor != "" {
		c, err := DecodeCursor(req.Cursor)
		if err != nil {
			return ListPage{}, err
		}
		q.After = &c
	}
	// One more than the page tells whether another page follows.
	q.Limit++
	gens, err := s.Store.ListGenerations(ctx, req.User, q)
	if err != nil {
		return ListPage{}, fmt.Errorf("list generations: %w", err)
	}
	page := ListPage{Generations: gens}
	if len(gens) == q.Limit {
		page.Generations = gens[:q.Limit-1]
		last := page.Generations[len(page.Generations)-1]
		page.NextCursor = EncodeCursor(generation.ListCursor{CreatedAt: last.CreatedAt, ID: last.ID})
	}
	for i := range page.Generations {
		page.Generations[i].Error = generation.SafeReason(page.Generations[i].Error)
	}
	return page, nil
}

func validStatus(st generation.Status) bool {
	for _, s := range statuses {
		if s == st {
			return true
		}
	}
	return false
}

func statusList() string {
	names := make([]string, len(statuses))
	for i, s := range statuses {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// cursorVersion prefixes a cursor's text, so that a later format can tell
// an old cursor apart.
const cursorVersion = "v1"

// EncodeCursor makes the opaque cursor of a position: base64url of
// "v1|<createdAt, RFC 3339 with nanoseconds>|<id>". Opaque to clients (the
// API documents no structure), not secret: it names only the caller's own
// generation, and the query is always restricted to the caller.
func EncodeCursor(c generation.ListCursor) string {
	raw := cursorVersion + "|" + c.CreatedAt.UTC().Format(time.RFC3339Nano) + "|" + c.ID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// DecodeCursor reads a cursor EncodeCursor made; anything else is EINVALID
// naming cursor.
func DecodeCursor(cursor string) (generation.ListCursor, error) {
	bad := generation.FieldError("cursor", "is not a cursor this API returned (use nextCursor of the previous page)")
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return generation.ListCursor{}, bad
	}
	parts := strings.Split(string(raw), "|")
	if len(parts) != 3 || parts[0] != cursorVersion || !generation.IsUUID(parts[2]) {
		return generation.ListCursor{}, bad
	}
	at, err := time.Parse(time.RFC3339Nano, parts[1])
	if err != nil {
		return generation.ListCursor{}, bad
	}
	return generation.ListCursor{CreatedAt: at, ID: parts[2]}, nil
}
