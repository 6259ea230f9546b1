package generation

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"sync"
)

// StrictJSON decodes request JSON strictly (see Decode). Its fields are the
// messages of the FieldErrors it returns, so each caller keeps its own words.
type StrictJSON struct {
	// Field names the value as a whole in errors ("settings", "body").
	Field string
	// NotObject is the message when the value is JSON but not an object.
	NotObject string
	// Malformed is the message when the input is not a JSON value.
	Malformed string
	// MalformedDetail appends the decoder's description of the syntax
	// error to Malformed ("is not valid JSON: unexpected EOF").
	MalformedDetail bool
	// Unknown is the message of a member the target struct does not declare.
	Unknown string
}

// Decode decodes data, exactly one JSON object (or null) and nothing but
// white space after it, into v, a pointer to a struct. Every error is a
// *Error naming the offending field:
//   - malformed JSON names o.Field with o.Malformed;
//   - a top-level member that no field of v declares (by its json tag or
//     name, matched case-insensitively as encoding/json does) names that
//     member with o.Unknown; only the top level is checked;
//   - a member of the wrong type names the member: "must be a <Go type>";
//     a value that is not an object names o.Field with o.NotObject;
//   - when both an unknown member and a wrong type occur, the first in the
//     document wins;
//   - a *Error returned by a field's UnmarshalJSON is returned as it is;
//   - trailing data names o.Field: "must be a single JSON object".
//
// Unknown members are found from v's struct fields, never from
// encoding/json's error strings.
func (o StrictJSON) Decode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return o.malformed(err)
	}
	err := json.Unmarshal(raw, v)
	var typeErr *json.UnmarshalTypeError
	if err != nil && !errors.As(err, &typeErr) {
		var e *Error
		if errors.As(err, &e) {
			return e
		}
		return o.malformed(err)
	}
	unknown, at, err := unknownMember(raw, v)
	if err != nil {
		return o.malformed(err)
	}
	switch {
	case typeErr != nil && (unknown == "" || typeErr.Offset < at):
		if typeErr.Field == "" {
			return FieldError(o.Field, "%s", o.NotObject)
		}
		return FieldError(typeErr.Field, "must be a %s", typeErr.Type.String())
	case unknown != "":
		return FieldError(unknown, "%s", o.Unknown)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return FieldError(o.Field, "must be a single JSON object")
	}
	return nil
}

func (o StrictJSON) malformed(err error) error {
	if o.MalformedDetail {
		return FieldError(o.Field, "%s: %s", o.Malformed, err.Error())
	}
	return FieldError(o.Field, "%s", o.Malformed)
}

// unknownMember returns the first top-level member of the JSON object raw
// that v's struct does not declare, and the offset in raw just after its
// name. Anything but an object (and a v that is not a struct) has none.
func unknownMember(raw json.RawMessage, v any) (string, int64, error) {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct || !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return "", 0, nil
	}
	known := jsonNames(t)
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // {
		return "", 0, err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", 0, err
		}
		name, _ := tok.(string)
		if !declares(known, name) {
			return name, dec.InputOffset(), nil
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return "", 0, err
		}
	}
	return "", 0, nil
}

func declares(known []string, name string) bool {
	for _, k := range known {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

var jsonNamesCache sync.Map // reflect.Type → []string

// jsonNames are the member names encoding/json decodes into struct type t:
// json tag names, else field names, of exported fields, with embedded
// structs' promoted fields; `json:"-"` fields are left out.
func jsonNames(t reflect.Type) []string {
	if names, ok := jsonNamesCache.Load(t); ok {
		return names.([]string)
	}
	var names []string
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case f.Anonymous && name == "" && ft.Kind() == reflect.Struct:
			names = append(names, jsonNames(ft)...)
			continue
		case !f.IsExported():
			continue
		case name == "":
			name = f.Name
		}
		names = append(names, name)
	}
	jsonNamesCache.Store(t, names)
	return names
}
