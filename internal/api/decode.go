package api

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// decodeBody reads a JSON request body of at most limit bytes into v with
// decodeJSON. Every handler that takes a JSON object (other than an event,
// see event.Decode) reads it here.
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if _, err := requireMedia(r, "application/json"); err != nil {
		return err
	}
	body, err := readBody(w, r, limit)
	if err != nil {
		return err
	}
	return decodeJSON(body, v)
}

// decodeJSON decodes body, one JSON object, into v strictly, in one pass
// with encoding/json/v2's semantics: a member named twice, a member v does
// not have, a name in another case than v's (names are exact), invalid
// UTF-8 and anything after the object are refused, where encoding/json
// keeps the last of two values, ignores or case-folds names and so lets a
// request mean something else than it says ({"dry_run":true,
// "dry_run":false} ran a real replay). Each failure is an EInvalid error
// that names the problem and where it is.
func decodeJSON(body []byte, v any) error {
	if b := bytes.TrimLeft(body, " \t\r\n"); len(b) == 0 || b[0] != '{' {
		if len(b) == 0 {
			return Errorf(EInvalid, "invalid JSON body: empty, expected an object")
		}
		return Errorf(EInvalid, "invalid JSON body: expected an object")
	}
	err := jsonv2.Unmarshal(body, v, jsonv2.RejectUnknownMembers(true))
	if err == nil {
		return nil
	}
	var xe *jsontext.SyntacticError
	if errors.As(err, &xe) && xe.JSONPointer == "" {
		if at := trailingData(body); at >= 0 {
			return &Error{Kind: EInvalid, Message: fmt.Sprintf("invalid JSON body: data after the object at byte %d", at), Err: err}
		}
	}
	return &Error{Kind: EInvalid, Message: bodyError(err), Err: err}
}

// trailingData returns where data follows the first JSON value of body,
// or -1 when nothing but white space does (or the value is malformed).
func trailingData(body []byte) int64 {
	dec := jsontext.NewDecoder(bytes.NewReader(body), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if _, err := dec.ReadValue(); err != nil {
		return -1
	}
	end := dec.InputOffset()
	if len(bytes.TrimLeft(body[end:], " \t\r\n")) == 0 {
		return -1
	}
	return end
}

// fieldMessager is an error of a type's own UnmarshalJSON that says what
// is wrong with the value, for the member that holds it.
type fieldMessager interface{ FieldMessage() string }

// bodyError says what is wrong with a body that decodeJSON refused.
func bodyError(err error) string {
	var se *jsonv2.SemanticError
	if errors.As(err, &se) {
		name := pointerName(se.JSONPointer)
		var fm fieldMessager
		switch {
		case errors.As(se.Err, &fm) && name != "":
			return fmt.Sprintf("%s: %s", name, fm.FieldMessage())
		case errors.Is(se.Err, jsonv2.ErrUnknownName):
			return fmt.Sprintf("%s: unknown member (member names are exact and case-sensitive)", name)
		case se.GoType != nil && name != "" && se.JSONKind == '0' && kindOf(se.GoType) == "a number that fits":
			return fmt.Sprintf("%s: number out of range", name)
		case se.GoType != nil && name != "":
			return fmt.Sprintf("%s: must be %s, not %s", name, kindOf(se.GoType), jsonKind(se.JSONKind))
		}
		return "invalid JSON body: " + strings.TrimPrefix(se.Error(), "json: ")
	}
	var xe *jsontext.SyntacticError
	if errors.As(err, &xe) {
		name := pointerName(xe.JSONPointer)
		switch {
		case errors.Is(xe.Err, jsontext.ErrDuplicateName):
			return fmt.Sprintf("%s: member appears more than once", name)
		case name != "":
			return fmt.Sprintf("%s: invalid JSON at byte %d: %v", name, xe.ByteOffset, xe.Err)
		}
		return fmt.Sprintf("invalid JSON body at byte %d: %v", xe.ByteOffset, xe.Err)
	}
	return "invalid JSON body: " + err.Error()
}

// pointerName writes a JSON pointer ("/mix/page_view") as the member path
// errors name ("mix.page_view", "ids[0]").
func pointerName(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if tok != "" && strings.Trim(tok, "0123456789") == "" && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

// kindOf names the JSON a Go type is decoded from.
func kindOf(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number that fits"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a " + t.Kind().String()
}

// jsonKind names a JSON value's kind.
func jsonKind(k jsontext.Kind) string {
	switch k {
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return "something else"
}

// parseTimeParam reads the RFC 3339 time of query parameter name.
func parseTimeParam(name, raw string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil && strings.Contains(raw, " ") {
		// An unescaped "+01:00" offset arrives as " 01:00".
		t, err = time.Parse(time.RFC3339Nano, strings.ReplaceAll(raw, " ", "+"))
	}
	if err != nil {
		return time.Time{}, Errorf(EInvalid, "%s: must be an RFC 3339 time such as 2026-01-02T15:04:05Z", name)
	}
	return t, nil
}
