package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pulse-dev/pulse/internal/auth"
	"github.com/pulse-dev/pulse/internal/deadletter"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/insights"
	"github.com/pulse-dev/pulse/internal/privacy"
	"github.com/pulse-dev/pulse/internal/store"
)

// Personal fields (docs/accounts.md#personal-fields) are masked for every
// reader below the admin role, on every path that shows an event, a
// message or a value of such a field: the handlers ask maskerFor and mask
// what they write; a filter on a personal field is refused (refusePersonal)
// rather than answered, since its answer would tell the masked value.

// unmaskedRole is the least role that reads personal values as they are.
const unmaskedRole = auth.Admin

// privacyRoutes registers the declaration of personal fields.
func (s *Server) privacyRoutes(handle routeFunc) {
	if s.deps.Privacy == nil {
		return
	}
	handle("GET", "/api/privacy/fields/", auth.Viewer, s.wrap(s.personalFields))
	handle("PUT", "/api/privacy/fields/", auth.Admin, s.wrap(s.setPersonalFields))
	if s.deps.Erasure != nil {
		handle("POST", "/api/privacy/erase/", auth.Admin, s.wrap(s.eraseUser))
		handle("GET", "/api/privacy/erased/", auth.Admin, s.wrap(s.erasedUsers))
	}
}

// maskerFor returns the masker for r's reader, or nil for a reader who
// sees personal values (an admin) or a server with no privacy settings.
func (s *Server) maskerFor(r *http.Request) *privacy.Masker {
	if s.deps.Privacy == nil {
		return nil
	}
	p, ok := PrincipalOf(r.Context())
	if ok && p.Role >= unmaskedRole {
		return nil
	}
	return s.deps.Privacy.Masker()
}

// refusePersonal refuses a filter or a breakdown on field (as the API
// names it: user_id, properties.email) when m masks it: a reader who may
// not see a value may not search for it either.
func refusePersonal(m *privacy.Masker, param, field string) error {
	if m == nil || !m.Fields().Personal(field) {
		return nil
	}
	return Errorf(EForbidden, "%s: %s is a personal field; filtering by it needs the %s role", param, field, unmaskedRole)
}

type personalFieldsBody struct {
	Fields []string `json:"fields"`
	// Masked says whether the reader sees these fields masked.
	Masked bool `json:"masked"`
}

func (s *Server) personalFields(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, personalFieldsBody{
		Fields: s.deps.Privacy.Fields(),
		Masked: s.maskerFor(r) != nil,
	})
}

func (s *Server) setPersonalFields(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Fields *[]string `json:"fields"`
	}
	if err := decodeBody(w, r, 16<<10, &body); err != nil {
		return err
	}
	if body.Fields == nil {
		return Errorf(EInvalid, "fields: required, a list such as [\"user_id\", \"properties.email\"]")
	}
	if _, err := privacy.ParseFields(*body.Fields); err != nil {
		return Errorf(EInvalid, "%s", err)
	}
	fields, err := s.deps.Privacy.SetFields(r.Context(), *body.Fields)
	if err != nil {
		return err
	}
	noteAudit(r, "", "personal fields: "+strings.Join(fields, ", "))
	return writeJSON(w, http.StatusOK, personalFieldsBody{Fields: fields})
}

// refusePersonalFilters refuses a filter that would tell a masked value:
// any but is_set, which tells only that the field has one.
func refusePersonalFilters(m *privacy.Masker, param string, filters []insights.Filter) error {
	for i, f := range filters {
		if f.Op == insights.OpIsSet {
			continue
		}
		if err := refusePersonal(m, fmt.Sprintf("%s[%d]", param, i), f.Field); err != nil {
			return err
		}
	}
	return nil
}

// maskBreakdown masks the values of a breakdown by a personal field.
func maskBreakdown(m *privacy.Masker, breakdown string, values []*string) {
	if m == nil || breakdown == "" || !m.Fields().Personal(breakdown) {
		return
	}
	for _, v := range values {
		*v = m.Value(*v)
	}
}

// maskTrend masks a trend's series keys when it breaks down by a personal
// field (the "other" series names no value).
func maskTrend(m *privacy.Masker, t *insights.Trend) {
	var keys []*string
	for _, p := range []*insights.Period{&t.Current, t.Previous} {
		if p == nil {
			continue
		}
		for i := range p.Series {
			if !p.Series[i].Other {
				keys = append(keys, &p.Series[i].Key)
			}
		}
	}
	maskBreakdown(m, t.Breakdown, keys)
}

// maskFunnel masks the users who dropped and a breakdown's values.
func maskFunnel(m *privacy.Masker, breakdown string, f *insights.Funnel) {
	if m == nil {
		return
	}
	if m.Fields().Personal(privacy.FieldUserID) {
		for i := range f.Steps {
			for j, u := range f.Steps[i].DroppedUsers {
				f.Steps[i].DroppedUsers[j] = m.Value(u)
			}
		}
	}
	var values []*string
	for i := range f.Breakdown {
		if !f.Breakdown[i].Other {
			values = append(values, &f.Breakdown[i].Value)
		}
	}
	maskBreakdown(m, breakdown, values)
}

// withheldPayload replaces a payload masking cannot read (not a JSON
// object, or cut short): any of it may be a personal value.
const withheldPayload = "(withheld: not a JSON object, so its personal fields cannot be masked)"

// maskDeadLetters masks the records' keys and payloads.
func maskDeadLetters(m *privacy.Masker, v *deadletter.View) {
	for i := range v.Groups {
		for j := range v.Groups[i].Records {
			rec := &v.Groups[i].Records[j]
			rec.Key = m.RecordKey(rec.Key)
			if out, withheld := m.Payload([]byte(rec.Payload)); withheld {
				rec.Payload = withheldPayload
			} else {
				rec.Payload = string(out)
			}
		}
	}
}

// maskPlanWarnings masks the example events, and the reason of a warning
// about a personal field (a schema's error may quote the value).
func maskPlanWarnings(m *privacy.Masker, warnings []store.PlanWarning) {
	for i := range warnings {
		w := &warnings[i]
		if len(w.Example) > 0 {
			if out, withheld := m.Payload(w.Example); withheld {
				w.Example, _ = json.Marshal(withheldPayload)
			} else {
				w.Example = out
			}
		}
		if m.Fields().Personal(w.Field) {
			w.Reason = "(withheld: the field is personal, and the reason may quote its value)"
		}
	}
}

// eraseUser answers POST /api/privacy/erase/: the user's events,
// processing-log rows and what the aggregates counted of them go, in one
// transaction, and the user goes on the suppression list, so that a
// redelivered or replayed record of theirs is dead-lettered, not stored;
// so do the anonymous ids their events carry (privacy.EraseUser).
// The audit entry names the user by the hash the list keeps, never by
// the id.
func (s *Server) eraseUser(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		UserID *string `json:"user_id"`
	}
	if err := decodeBody(w, r, 4<<10, &in); err != nil {
		return err
	}
	switch {
	case in.UserID == nil || *in.UserID == "":
		return Errorf(EInvalid, "user_id: required")
	case len(*in.UserID) > event.MaxIDLen:
		return Errorf(EInvalid, "user_id: longer than %d bytes", event.MaxIDLen)
	}
	by := "api"
	if p, ok := PrincipalOf(r.Context()); ok {
		by = p.Name()
	}
	noteAudit(r, "user "+store.UserHash(*in.UserID), "")
	res, err := privacy.EraseUser(r.Context(), s.deps.Erasure, *in.UserID, by)
	if err != nil {
		return fmt.Errorf("erase a user: %w", err)
	}
	noteAudit(r, "", res.Summary())
	if s.deps.Erased != nil {
		s.deps.Erased()
	}
	return writeJSON(w, http.StatusOK, res)
}

// maxErasedPage bounds a page of the suppression list.
const maxErasedPage = 500

// erasedUsers answers GET /api/privacy/erased/: the suppression list,
// newest first, a page of limit before a time.
func (s *Server) erasedUsers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxErasedPage {
			return Errorf(EInvalid, "limit: must be 1 to %d", maxErasedPage)
		}
		limit = n
	}
	var before time.Time
	if v := q.Get("before"); v != "" {
		t, err := parseTimeParam("before", v)
		if err != nil {
			return err
		}
		before = t
	}
	// One more than the page tells whether an older one exists.
	list, err := s.deps.Erasure.Suppressions(r.Context(), before, limit+1)
	if err != nil {
		return fmt.Errorf("read the erased users: %w", err)
	}
	var next *time.Time
	if len(list) > limit {
		list = list[:limit]
		next = &list[limit-1].ErasedAt
	}
	if list == nil {
		list = []store.Suppression{}
	}
	return writeJSON(w, http.StatusOK, struct {
		Erased     []store.Suppression `json:"erased"`
		NextBefore *time.Time          `json:"next_before"`
	}{list, next})
}
