package api

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/pulse-dev/pulse/internal/auth"
	"github.com/pulse-dev/pulse/internal/store"
)

// maxAuditPage bounds one page of GET /api/audit/.
const maxAuditPage = 1000

func (s *Server) auditRoutes(handle routeFunc) {
	if s.deps.Audit == nil {
		return
	}
	handle("GET", "/api/audit/", auth.Admin, s.wrap(s.auditLog))
	handle("GET", "/api/audit/export/", auth.Admin, s.wrap(s.exportAudit))
}

// auditFilter reads the filters both routes take.
func auditFilter(r *http.Request) (store.AuditFilter, error) {
	q := r.URL.Query()
	f := store.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action"), Outcome: q.Get("outcome"), Q: q.Get("q")}
	switch f.Outcome {
	case "", store.AuditOK, store.AuditRefused, store.AuditFailed:
	default:
		return f, Errorf(EInvalid, "outcome: must be ok, refused or failed, not %q", f.Outcome)
	}
	for _, t := range []struct {
		name string
		to   *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(t.name); v != "" {
			at, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, Errorf(EInvalid, "%s: %q is not an RFC 3339 time", t.name, v)
			}
			*t.to = at
		}
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return f, Errorf(EInvalid, "before: %q is not an entry id", v)
		}
		f.Before = n
	}
	return f, nil
}

// auditLog answers a page of the log, newest first, and the cursor of
// the next.
func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) error {
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	f.Limit = 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxAuditPage {
			return Errorf(EInvalid, "limit: must be 1 to %d", maxAuditPage)
		}
		f.Limit = n
	}
	// One more than the page: a page that fills the limit has a next one
	// only when that entry exists, so the last page never leads to an
	// empty one.
	limit := f.Limit
	f.Limit++
	entries, err := s.deps.Audit.AuditLog(r.Context(), f)
	if err != nil {
		return fmt.Errorf("read the audit log: %w", err)
	}
	var next *int64
	if len(entries) > limit {
		entries = entries[:limit]
		next = &entries[limit-1].ID
	}
	return writeJSON(w, http.StatusOK, struct {
		Entries    []store.AuditEntry `json:"entries"`
		NextBefore *int64             `json:"next_before"`
	}{entries, next})
}

// exportAudit streams every matching entry, newest first, as CSV or
// NDJSON, a page at a time.
func (s *Server) exportAudit(w http.ResponseWriter, r *http.Request) error {
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	var write func(e store.AuditEntry) error
	var flush, header func() error
	switch format {
	case "", "csv":
		format = "csv"
		cw := csv.NewWriter(w)
		write = func(e store.AuditEntry) error {
			return cw.Write([]string{strconv.FormatInt(e.ID, 10), e.At.Format(time.RFC3339Nano), csvCell(e.Actor), e.AccountID, e.ClientIP,
				csvCell(e.Action), csvCell(e.Target), e.Outcome, strconv.Itoa(e.Status), csvCell(e.Detail), e.RequestID})
		}
		flush = func() error { cw.Flush(); return cw.Error() }
		header = func() error {
			return cw.Write([]string{"id", "at", "actor", "account_id", "client_ip", "action", "target", "outcome", "status", "detail", "request_id"})
		}
	case "ndjson":
		enc := json.NewEncoder(w)
		write = func(e store.AuditEntry) error { return enc.Encode(e) }
		flush = func() error { return nil }
	default:
		return Errorf(EInvalid, "format: must be csv or ndjson")
	}
	f.Limit = maxAuditPage
	page, err := s.deps.Audit.AuditLog(r.Context(), f)
	if err != nil {
		return fmt.Errorf("read the audit log: %w", err)
	}
	h := w.Header()
	h.Set("Content-Type", map[string]string{"csv": "text/csv; charset=utf-8", "ndjson": "application/x-ndjson"}[format])
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="pulse-audit-%s.%s"`, time.Now().UTC().Format("20060102T150405Z"), format))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if header != nil {
		if err := header(); err != nil {
			return nil // the client went away; the status is sent
		}
	}
	rc := http.NewResponseController(w)
	// The write deadline would outlive the request on a kept-alive
	// connection; cleared at the end.
	defer func() { _ = rc.SetWriteDeadline(time.Time{}) }()
	rows := 0
	for len(page) > 0 {
		// A client that takes a page no faster than this is cut off.
		_ = rc.SetWriteDeadline(time.Now().Add(s.cfg.ExportWriteTimeout))
		for _, e := range page {
			if err := write(e); err != nil {
				return s.exportCutOff(r, rows, err)
			}
			rows++
		}
		if err := flush(); err != nil {
			return s.exportCutOff(r, rows, err)
		}
		if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return s.exportCutOff(r, rows, err)
		}
		if len(page) < f.Limit {
			break
		}
		f.Before = page[len(page)-1].ID
		if page, err = s.deps.Audit.AuditLog(r.Context(), f); err != nil {
			// Abort, so that the client sees a broken transfer, not a
			// short file that looks whole (as the events' export does).
			s.log.Error("audit export aborted", "request_id", RequestID(r.Context()), "rows", rows, "err", err)
			panic(http.ErrAbortHandler)
		}
	}
	noteAudit(r, "", fmt.Sprintf("%d %s as %s", rows, plural(rows, "entry", "entries"), format))
	return nil
}

// plural picks the word that goes with n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// exportCutOff ends an audit export whose client went away or took no
// chunk within ExportWriteTimeout: the status is sent, so there is
// nothing to answer.
func (s *Server) exportCutOff(r *http.Request, rows int, err error) error {
	s.log.Info("export cut off", "export", "audit", "request_id", RequestID(r.Context()), "rows", rows, "err", err)
	return nil
}
