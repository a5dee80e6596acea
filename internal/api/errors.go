package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
)

// Kinds of error the API reports. Each maps to one HTTP status in
// statusOf; handlers return an *Error and never pick a status themselves.
const (
	EInvalid          = "invalid"
	ENotFound         = "not_found"
	EMethod           = "method_not_allowed"
	ETooLarge         = "too_large"
	EUnsupportedMedia = "unsupported_media_type"
	EUnauthorized     = "unauthorized"
	EForbidden        = "forbidden"
	EConflict         = "conflict"
	ERateLimited      = "rate_limited"
	EUnavailable      = "unavailable"
	EInternal         = "internal"
)

var statusOf = map[string]int{
	EInvalid:          http.StatusBadRequest,
	ENotFound:         http.StatusNotFound,
	EMethod:           http.StatusMethodNotAllowed,
	ETooLarge:         http.StatusRequestEntityTooLarge,
	EUnsupportedMedia: http.StatusUnsupportedMediaType,
	EUnauthorized:     http.StatusUnauthorized,
	EForbidden:        http.StatusForbidden,
	EConflict:         http.StatusConflict,
	ERateLimited:      http.StatusTooManyRequests,
	EUnavailable:      http.StatusServiceUnavailable,
	EInternal:         http.StatusInternalServerError,
}

// Error is an API error: a kind, a message safe to show the client, and
// the underlying cause for the logs.
type Error struct {
	Kind    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of kind with a formatted client message.
func Errorf(kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// StatusCode returns the HTTP status for err: its kind's, or 500.
func StatusCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		if s, ok := statusOf[e.Kind]; ok {
			return s
		}
	}
	return http.StatusInternalServerError
}

// writeError answers with err as {"error": ...}. Errors that are not an
// *Error are internal: the client sees a generic message, the log the
// detail.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status := StatusCode(err)
	msg := "internal error"
	var e *Error
	if errors.As(err, &e) {
		msg = e.Message
	}
	if status >= 500 && errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The client went away (a closed tab, a proxy's timeout): the
		// request was cut short, nothing failed on this side. What it
		// sent may have been written; a client that retries sends its
		// event ids again and they are kept once.
		log.Info("client went away before the answer", "request_id", RequestID(r.Context()), "method", r.Method, "path", r.URL.Path)
	} else if status >= 500 {
		log.Error("request failed", "request_id", RequestID(r.Context()), "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	_ = writeJSON(w, status, map[string]string{"error": msg})
}

// writeJSON answers with status and v as JSON. v is encoded whole before
// anything is sent: a value that cannot be encoded (a stored time outside
// the years RFC 3339 can write) is returned as an error, with nothing
// written, for the handler to answer 500 with (writeError logs it),
// instead of a 200 with an empty or cut body.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode the %d answer: %w", status, err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return nil
}
