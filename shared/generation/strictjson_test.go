package generation

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

type strictTarget struct {
	Name   *string       `json:"name"`
	Count  int           `json:"count,omitempty"`
	Buffer BufferPercent `json:"bufferPercent"`
	Ignore string        `json:"-"`
	Plain  bool
	//lint:ignore U1000 an unexported field must not be accepted as a member
	hidden int
	strictEmbedded
}

type strictEmbedded struct {
	Extra []string `json:"extra"`
}

var strictOpts = StrictJSON{Field: "body", NotObject: "must be a JSON object", Malformed: "is not valid JSON", MalformedDetail: true, Unknown: "is unknown"}

// legacyDecode is the decoding StrictJSON replaced: encoding/json with
// DisallowUnknownFields, the field read from the error string. Decode must
// name the same field with the same message, without reading strings.
func legacyDecode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var e *Error
		if errors.As(err, &e) {
			return e
		}
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			if typeErr.Field == "" {
				return FieldError("body", "must be a JSON object")
			}
			return FieldError(typeErr.Field, "must be a %s", typeErr.Type.String())
		}
		if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return FieldError(strings.Trim(field, `"`), "is unknown")
		}
		return FieldError("body", "is not valid JSON: %s", err.Error())
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return FieldError("body", "must be a single JSON object")
	}
	return nil
}

func TestStrictJSONMatchesTheLegacyDecoder(t *testing.T) {
	inputs := []string{
		``, ` `, `null`, `{}`, `[]`, `5`, `"x"`, `{`, `{"name":`, `{"name": "a"`, `{"name" 1}`,
		`{"name": "a"}`, `{"NAME": "a"}`, `{"Plain": true}`, `{"plain": true}`, `{"extra": ["a"]}`,
		`{"bogus": 1}`, `{"name": "a", "bogus": 1}`, `{"Ignore": "x"}`, `{"hidden": 1}`, `{"-": 1}`,
		`{"name": 5}`, `{"count": "x"}`, `{"count": 1.5}`, `{"count": "x", "bogus": 1}`, `{"bogus": 1, "count": "x"}`,
		`{"count": "x", "name": 1}`, `{"bufferPercent": "sometimes"}`, `{"bogus": 1, "bufferPercent": "x"}`,
		`{"bufferPercent": "auto"}`, `{"bufferPercent": 20}`, `{"extra": [1]}`, `{"extra": {}}`,
		`{} {}`, `{} x`, `{}}`, `{"name": "a"} `, "{}\n", `{"bogus": 1} x`, `{"name": "a"} [`,
		`{"name": "\u00e9"}`, `{"name": "a", "name": "b"}`, `{"nam\u0065": "a"}`,
	}
	for _, in := range inputs {
		var got, want strictTarget
		gotErr := strictOpts.Decode([]byte(in), &got)
		wantErr := legacyDecode([]byte(in), &want)
		if ErrorMessage(gotErr) != ErrorMessage(wantErr) || ErrorCode(gotErr) != ErrorCode(wantErr) {
			t.Errorf("%q: got %v, want %v", in, gotErr, wantErr)
		}
		if gotErr == nil {
			a, _ := json.Marshal(got)
			b, _ := json.Marshal(want)
			if !bytes.Equal(a, b) {
				t.Errorf("%q: decoded %s, want %s", in, a, b)
			}
		}
	}
}

func TestStrictJSONNamesTheFieldWithoutMatchingStrings(t *testing.T) {
	var v strictTarget
	err := StrictJSON{Field: "settings", Unknown: "is not a known setting"}.Decode([]byte(`{"name": "a", "colour": "red"}`), &v)
	var e *Error
	if !errors.As(err, &e) || e.Code != EINVALID || e.Field != "colour" || e.Message != "is not a known setting" {
		t.Fatalf("got %#v", err)
	}
}
