package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/pulse-dev/pulse/internal/auth"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/kafka"
	"github.com/pulse-dev/pulse/internal/store"
)

// Rewinder rewinds the consumer group (monitor.Group satisfies it).
type Rewinder interface {
	// Rewind plans (dryRun) or applies a rewind of the group.
	Rewind(ctx context.Context, to kafka.Target, partitions []int32, dryRun bool) (kafka.RewindPlan, error)
	// Rewinds returns the rewind markers since a time.
	Rewinds(ctx context.Context, since time.Time) ([]event.Marker, error)
}

// rewindRequest is the body of POST /api/consumers/rewind/.
type rewindRequest struct {
	// To is an RFC 3339 time, "earliest", "latest", "offset:N" or
	// "offset:P=N,P=N" (kafka.ParseTarget).
	To string `json:"to"`
	// Partitions chooses partitions; all when absent.
	Partitions *[]int32 `json:"partitions"`
	DryRun     bool     `json:"dry_run"`
}

func (s *Server) rewindRoutes(handle routeFunc) {
	if s.deps.Rewinder != nil {
		handle("POST", "/api/consumers/rewind/", auth.Operator, s.wrap(s.rewind))
	}
}

func (s *Server) rewind(w http.ResponseWriter, r *http.Request) error {
	var req rewindRequest
	if err := decodeBody(w, r, maxOpsBody, &req); err != nil {
		return err
	}
	to, err := kafka.ParseTarget(req.To)
	if err != nil {
		return rewindError(err)
	}
	var parts []int32
	if req.Partitions != nil {
		if len(*req.Partitions) == 0 {
			return Errorf(EInvalid, "partitions: empty; leave it out to rewind every partition")
		}
		parts = *req.Partitions
	}
	ctx := r.Context()
	if !req.DryRun {
		// A client that goes away (a closed tab, a proxy's timeout) must
		// not cut the rewind short with some partitions moved and others
		// not: it ends by its own deadline, the members' wait.
		ctx = context.WithoutCancel(ctx)
	}
	plan, err := s.deps.Rewinder.Rewind(ctx, to, parts, req.DryRun)
	if err != nil {
		apiErr := rewindError(err)
		if moved := plan.MovedPartitions(); len(moved) > 0 {
			// Refused, and yet some partitions moved: their records are
			// processed again, and the audit log says so.
			var records int64
			for _, p := range plan.Partitions {
				if p.Moved {
					records += p.Records
				}
			}
			var msg string
			if e, ok := errors.AsType[*Error](apiErr); ok {
				msg = e.Message
			}
			if msg == "" {
				msg = err.Error()
			}
			noteAudit(r, "group "+plan.Group, "")
			noteOutcome(r, outcomeOf(apiErr), fmt.Sprintf("to %s partially applied: partitions %s moved (%d records to process again); %s not: %s",
				plan.To, kafka.JoinPartitions(moved, ","), records, kafka.JoinPartitions(plan.UnmovedPartitions(), ","), msg))
		}
		return apiErr
	}
	if !plan.DryRun {
		noteAudit(r, "group "+plan.Group, fmt.Sprintf("to %s: %d records to process again", plan.To, plan.Records))
	}
	return writeJSON(w, http.StatusOK, plan)
}

// outcomeOf is the audit outcome of a handler's error answer.
func outcomeOf(err error) string {
	if StatusCode(err) >= 500 {
		return store.AuditFailed
	}
	return store.AuditRefused
}

// rewindError maps a rewind's refusals to 4xx statuses.
func rewindError(err error) error {
	var re *kafka.RewindError
	if errors.As(err, &re) {
		switch {
		case re.NotFound:
			return &Error{Kind: ENotFound, Message: re.Msg, Err: err}
		case re.Conflict:
			return &Error{Kind: EConflict, Message: re.Msg, Err: err}
		}
		return &Error{Kind: EInvalid, Message: re.Msg, Err: err}
	}
	return opsError(err, "rewind the consumer group")
}

// StageReprocessed is the timeline stage of a record given back to the
// group by a rewind after it was processed.
const StageReprocessed = "reprocessed"

// reprocessedStages are the rewinds that gave m back to the group after
// it was processed: the store keeps its first row, and the timeline says
// it was processed again. The pipeline follows the same rule
// (event.RewindsOf) when it is given such a record.
func reprocessedStages(m *event.Message, rewinds []event.Marker) []Stage {
	if m.CompletedAt == nil {
		return nil
	}
	var out []Stage
	for _, mk := range event.RewindsOf(rewinds, m.Topic, m.Partition, m.Offset, *m.CompletedAt) {
		out = append(out, Stage{Stage: StageReprocessed, At: mk.T,
			Detail: "processed again after a rewind at " + mk.T.UTC().Format(time.RFC3339) + "; the stored row is kept, not duplicated"})
	}
	return out
}
