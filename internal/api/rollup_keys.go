package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/pulse-dev/pulse/internal/auth"
	"github.com/pulse-dev/pulse/internal/store"
)

// RollupKeys manages the property keys the rollups count by
// (store.RollupKeys); the server's filler counts the events stored before
// a key was added.
type RollupKeys interface {
	AddRollupKey(ctx context.Context, key string) (store.RollupKeyState, error)
	RemoveRollupKey(ctx context.Context, key string) error
	RollupKeyList(ctx context.Context) ([]store.RollupKeyState, error)
}

func (s *Server) rollupKeyRoutes(handle routeFunc) {
	if s.deps.RollupKeys == nil {
		return
	}
	handle("GET", "/api/insights/rollup-keys/", auth.Viewer, s.wrap(s.listRollupKeys))
	handle("POST", "/api/insights/rollup-keys/", auth.Admin, s.wrap(s.addRollupKey))
	handle("DELETE", "/api/insights/rollup-keys/{key}/", auth.Admin, s.wrap(s.removeRollupKey))
}

type rollupKeysAnswer struct {
	Keys []store.RollupKeyState `json:"keys"`
	Max  int                    `json:"max"`
}

func (s *Server) listRollupKeys(w http.ResponseWriter, r *http.Request) error {
	if len(r.URL.Query()) > 0 {
		return Errorf(EInvalid, "the list of kept property keys takes no parameters")
	}
	keys, err := s.deps.RollupKeys.RollupKeyList(r.Context())
	if err != nil {
		return fmt.Errorf("read the kept property keys: %w", err)
	}
	return writeJSON(w, http.StatusOK, rollupKeysAnswer{keys, store.MaxRollupKeys})
}

// addRollupKey answers 201 with the key's state, or 200 when it was kept
// already.
func (s *Server) addRollupKey(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Key string `json:"key"`
	}
	if err := decodeBody(w, r, 1<<10, &in); err != nil {
		return err
	}
	if err := store.CheckRollupKey(in.Key); err != nil {
		return Errorf(EInvalid, "key: %v", err)
	}
	before, err := s.deps.RollupKeys.RollupKeyList(r.Context())
	if err != nil {
		return fmt.Errorf("read the kept property keys: %w", err)
	}
	st, err := s.deps.RollupKeys.AddRollupKey(r.Context(), in.Key)
	if errors.Is(err, store.ErrRollupKeyLimit) {
		return Errorf(EConflict, "%v", err)
	}
	if err != nil {
		return fmt.Errorf("keep property key %q: %w", in.Key, err)
	}
	if s.deps.RollupKeysChanged != nil {
		s.deps.RollupKeysChanged()
	}
	status := http.StatusCreated
	for _, k := range before {
		if k.Key == in.Key {
			status = http.StatusOK
		}
	}
	return writeJSON(w, status, struct {
		Key store.RollupKeyState `json:"key"`
	}{st})
}

func (s *Server) removeRollupKey(w http.ResponseWriter, r *http.Request) error {
	key := r.PathValue("key")
	err := s.deps.RollupKeys.RemoveRollupKey(r.Context(), key)
	if errors.Is(err, store.ErrNotFound) {
		return Errorf(ENotFound, "property key %q is not kept", key)
	}
	if err != nil {
		return fmt.Errorf("stop keeping property key %q: %w", key, err)
	}
	if s.deps.RollupKeysChanged != nil {
		s.deps.RollupKeysChanged()
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
