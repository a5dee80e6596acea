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
	plan, err := s.deps.Rewinder.Rewind(r.Context(), to, parts, req.DryRun)
	if err != nil {
		return rewindError(err)
	}
	if !plan.DryRun {
		noteAudit(r, "group "+plan.Group, fmt.Sprintf("to %s: %d records to process again", plan.To, plan.Records))
	}
	return writeJSON(w, http.StatusOK, plan)
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
// it was processed again.
func reprocessedStages(m *event.Message, rewinds []event.Marker) []Stage {
	var out []Stage
	done := m.CompletedAt
	if done == nil {
		return nil
	}
	for _, mk := range rewinds {
		if mk.T.Before(*done) {
			continue
		}
		topic, ranges, ok := event.ParseRewindDetail(mk.Detail)
		if !ok || topic != m.Topic {
			continue
		}
		for _, rg := range ranges {
			if rg.Partition == m.Partition && m.Offset >= rg.From && m.Offset < rg.To {
				out = append(out, Stage{Stage: StageReprocessed, At: mk.T,
					Detail: "processed again after a rewind at " + mk.T.UTC().Format(time.RFC3339) + "; the stored row is kept, not duplicated"})
			}
		}
	}
	return out
}
