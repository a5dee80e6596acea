package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/pulse-dev/pulse/internal/auth"
	"github.com/pulse-dev/pulse/internal/deadletter"
	"github.com/pulse-dev/pulse/internal/load"
	"github.com/pulse-dev/pulse/internal/monitor"
	"github.com/pulse-dev/pulse/internal/series"
)

// GroupMonitor serves the console's consumer views: the group with its
// lag, the lag history with markers, and the keys held back by ordering.
type GroupMonitor interface {
	// Consumers returns the latest sample of the consumer group.
	Consumers(ctx context.Context) (monitor.ConsumersView, error)
	// History returns the lag history and markers of a range.
	History(ctx context.Context, r series.Range) (monitor.History, error)
	// Ordering returns the keys held back by this process's members.
	Ordering() monitor.OrderingView
}

// DeadLetters serves the console's dead-letter triage and replay.
type DeadLetters interface {
	// List lists the newest limit dead letters grouped by kind.
	List(ctx context.Context, limit int) (deadletter.View, error)
	// Replay sends dead letters back to the main topic.
	Replay(ctx context.Context, req deadletter.ReplayRequest) (deadletter.ReplayResult, error)
}

// LoadRuns serves the console's generated load runs.
type LoadRuns interface {
	// Start starts a load run; load.ErrRunning when one runs.
	Start(req load.Request) (load.Run, error)
	// Current returns the current or last run; false when there was none.
	Current() (load.Run, bool)
	// Stop stops the current run; load.ErrNoRun when there was none.
	Stop(ctx context.Context) (load.Run, error)
	// Runs returns the last runs, newest first.
	Runs() []load.Run
}

// maxOpsBody bounds the console's request bodies (a replay may list
// thousands of ids).
const maxOpsBody = 1 << 20

// opsRoutes registers the OpenAPI description and the console's routes
// of each area whose owner Deps has.
func (s *Server) opsRoutes(handle routeFunc) {
	// The trailing slash makes handle register /api/openapi.json as well.
	handle("GET", "/api/openapi.json/", auth.Viewer, s.wrap(s.openAPI))
	if s.deps.Monitor != nil {
		handle("GET", "/api/consumers/", auth.Viewer, s.wrap(s.opsConsumers))
		handle("GET", "/api/consumers/history/", auth.Viewer, s.wrap(s.opsHistory))
		handle("GET", "/api/ordering/", auth.Viewer, s.wrap(s.opsOrdering))
	}
	if s.deps.DeadLetters != nil {
		handle("GET", "/api/dlq/", auth.Viewer, s.wrap(s.opsDLQ))
		handle("POST", "/api/dlq/replay/", auth.Operator, s.wrap(s.opsReplay))
	}
	if s.deps.Load != nil {
		handle("POST", "/api/load/", auth.Operator, s.wrap(s.opsStartLoad))
		handle("GET", "/api/load/", auth.Viewer, s.wrap(s.opsLoad))
		handle("DELETE", "/api/load/", auth.Operator, s.wrap(s.opsStopLoad))
		handle("GET", "/api/load/runs/", auth.Viewer, s.wrap(s.opsLoadRuns))
	}
}

// opsError maps the console's errors to the API's.
func opsError(err error, what string) error {
	if msg, ok := requestMessage(err); ok {
		return &Error{Kind: EInvalid, Message: msg, Err: err}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Kind: EUnavailable, Message: what + ": timed out", Err: err}
	}
	return &Error{Kind: EUnavailable, Message: what + ": kafka unavailable", Err: err}
}

// requestMessage is the client's message of a request the dead-letter
// service or the load runner cannot act on.
func requestMessage(err error) (string, bool) {
	var dl *deadletter.RequestError
	if errors.As(err, &dl) {
		return dl.Msg, true
	}
	var lr *load.RequestError
	if errors.As(err, &lr) {
		return lr.Msg, true
	}
	return "", false
}

func (s *Server) opsConsumers(w http.ResponseWriter, r *http.Request) error {
	v, err := s.deps.Monitor.Consumers(r.Context())
	if err != nil {
		return opsError(err, "read the consumer group")
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) opsHistory(w http.ResponseWriter, r *http.Request) error {
	rg, err := parseRange(r)
	if err != nil {
		return err
	}
	h, err := s.deps.Monitor.History(r.Context(), rg)
	if err != nil {
		return fmt.Errorf("read the lag history: %w", err)
	}
	return writeJSON(w, http.StatusOK, h)
}

func (s *Server) opsOrdering(w http.ResponseWriter, r *http.Request) error {
	v := s.deps.Monitor.Ordering()
	if m := s.maskerFor(r); m != nil {
		for i := range v.HeldKeys {
			v.HeldKeys[i].Key = m.RecordKey(v.HeldKeys[i].Key)
		}
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) opsDLQ(w http.ResponseWriter, r *http.Request) error {
	limit := deadletter.DefaultLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > deadletter.MaxLimit {
			return Errorf(EInvalid, "limit: must be an integer between 1 and %d", deadletter.MaxLimit)
		}
		limit = n
	}
	v, err := s.deps.DeadLetters.List(r.Context(), limit)
	if err != nil {
		return opsError(err, "read the dead letters")
	}
	if m := s.maskerFor(r); m != nil {
		maskDeadLetters(m, &v)
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) opsReplay(w http.ResponseWriter, r *http.Request) error {
	var req deadletter.ReplayRequest
	if err := decodeBody(w, r, maxOpsBody, &req); err != nil {
		return err
	}
	res, err := s.deps.DeadLetters.Replay(r.Context(), req)
	if err != nil {
		return opsError(err, "replay dead letters")
	}
	return writeJSON(w, http.StatusOK, res)
}

func (s *Server) opsStartLoad(w http.ResponseWriter, r *http.Request) error {
	var req load.Request
	if err := decodeBody(w, r, maxOpsBody, &req); err != nil {
		return err
	}
	run, err := s.deps.Load.Start(req)
	switch {
	case errors.Is(err, load.ErrRunning):
		// The error kinds have no conflict: answer 409 here, with the
		// run that is in the way.
		return writeJSON(w, http.StatusConflict, struct {
			Error string   `json:"error"`
			Run   load.Run `json:"run"`
		}{err.Error(), run})
	case err != nil:
		if msg, ok := requestMessage(err); ok {
			return &Error{Kind: EInvalid, Message: msg, Err: err}
		}
		return err
	}
	return writeJSON(w, http.StatusCreated, run)
}

func (s *Server) opsLoad(w http.ResponseWriter, r *http.Request) error {
	run, ok := s.deps.Load.Current()
	if !ok {
		return writeJSON(w, http.StatusOK, map[string]string{"status": "idle"})
	}
	return writeJSON(w, http.StatusOK, run)
}

func (s *Server) opsStopLoad(w http.ResponseWriter, r *http.Request) error {
	run, err := s.deps.Load.Stop(r.Context())
	if errors.Is(err, load.ErrNoRun) {
		return Errorf(ENotFound, "no load run to stop")
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, run)
}

func (s *Server) opsLoadRuns(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, struct {
		Runs []load.Run `json:"runs"`
	}{s.deps.Load.Runs()})
}
