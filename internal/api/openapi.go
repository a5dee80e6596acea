package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/pulse-dev/pulse/internal/auth"
	"github.com/pulse-dev/pulse/internal/event"
)

// The OpenAPI 3.1 description of every route the server can register
// (docs/api.md in machine-readable form). openapi_test.go keeps it in step
// with the registrations in this package.

// schema is a JSON Schema (OpenAPI 3.1 uses JSON Schema 2020-12).
type schema = map[string]any

func ref(name string) schema { return schema{"$ref": "#/components/schemas/" + name} }
func str() schema            { return schema{"type": "string"} }
func dateTime() schema       { return schema{"type": "string", "format": "date-time"} }
func integer() schema        { return schema{"type": "integer"} }
func number() schema         { return schema{"type": "number"} }
func boolean() schema        { return schema{"type": "boolean"} }
func arrayOf(s schema) schema {
	return schema{"type": "array", "items": s}
}
func mapOf(s schema) schema { return schema{"type": "object", "additionalProperties": s} }
func nullable(s schema) schema {
	return schema{"oneOf": []any{s, schema{"type": "null"}}}
}
func enum(values ...string) schema { return schema{"type": "string", "enum": values} }

// described adds a description to s.
func described(s schema, text string) schema {
	s["description"] = text
	return s
}

// strict is an object schema that allows no other members, as
// decodeJSON reads request bodies.
func strict(s schema) schema {
	s["additionalProperties"] = false
	return s
}

// object is an object schema; properties named with a trailing "?" are
// optional, the others required.
func object(props map[string]schema) schema {
	p := make(map[string]any, len(props))
	var required []string
	for name, s := range props {
		if n, ok := strings.CutSuffix(name, "?"); ok {
			p[n] = s
			continue
		}
		p[name] = s
		required = append(required, name)
	}
	out := schema{"type": "object", "properties": p}
	if len(required) > 0 {
		slices.Sort(required)
		out["required"] = required
	}
	return out
}

func eventProps() map[string]schema {
	return map[string]schema{
		"event_id": str(), "user_id": str(), "event_type": str(), "element_id": str(),
		"timestamp": dateTime(), "session_id?": str(), "page?": str(), "message?": str(),
		"properties?":    schema{"type": "object"},
		"delay_seconds?": number(), "should_fail?": boolean(),
		"source_id?":    described(str(), "the source of a collected event; set by the collector from the write key"),
		"anonymous_id?": described(str(), "the browser's first-party id; user_id defaults to it"),
	}
}

func components() schema {
	stored := eventProps()
	for k, v := range map[string]schema{
		"id": integer(), "source": ref("Source"), "partition": integer(), "offset": integer(), "created_at": dateTime(),
	} {
		stored[k] = v
	}
	input := map[string]schema{}
	for k, v := range eventProps() {
		switch k {
		case "user_id", "event_type":
			input[k] = v
		default:
			input[strings.TrimSuffix(k, "?")+"?"] = v
		}
	}
	// The limits of event.Validate that a schema can say.
	input["timestamp?"] = described(dateTime(), fmt.Sprintf("between %s and %s once in UTC; the time of ingest when absent",
		event.MinTimestamp.Format(time.RFC3339Nano), event.MaxTimestamp.Format(time.RFC3339Nano)))
	for _, k := range []string{"event_id?", "user_id", "element_id?", "session_id?"} {
		input[k] = described(str(), fmt.Sprintf("at most %d bytes; no control characters, Unicode format characters (Cf) or U+2028/U+2029", event.MaxIDLen))
	}
	input["properties?"] = described(schema{"type": "object"}, fmt.Sprintf("at most %d bytes, %d levels deep; numbers within the range of a 64-bit float",
		event.MaxPropertiesBytes, event.MaxPropertiesDepth))
	status := enum("queued", "processing", "retrying", "completed", "failed", "dead_lettered")
	return schema{
		"Error": object(map[string]schema{"error": str()}),
		"CollectedEvent": object(map[string]schema{
			"event_id?": str(), "event_type": str(), "anonymous_id?": str(), "user_id?": str(), "session_id?": str(),
			"stream_id?": str(), "seq?": integer(), "timestamp?": dateTime(), "page?": str(), "element_id?": str(),
			"message?": str(), "properties?": schema{"type": "object"},
		}),
		"UserSession": object(map[string]schema{
			"session_id": str(), "start": dateTime(), "end": dateTime(), "events": integer(),
			"pages":      described(arrayOf(str()), "distinct pages in the order of their first event, at most 10"),
			"first_page": described(str(), "the page of the session's earliest event that has one"),
		}),
		"SavedInsight": object(map[string]schema{
			"id": str(), "name": str(), "kind": enum("trend", "funnel", "retention"),
			"query": described(str(), "The page's URL parameters, as type=signup&breakdown=page"), "pinned": boolean(),
			"created_at": dateTime(), "updated_at": dateTime(),
		}),
		"AlertRule": object(map[string]schema{
			"id": str(), "name": str(), "signal": enum("lag_seconds", "consumers", "dlq_rate", "error_rate", "ingest_vs_last_week", "event_count"),
			"event_type?": str(), "page?": str(), "compare?": enum("value", "previous_period"),
			"window?": described(str(), "the period a rate or count is taken over, whole minutes (\"5m0s\")"),
			"op":      enum("above", "below"), "threshold": number(), "for": described(str(), "how long the threshold must be crossed before firing (\"1m0s\")"),
			"hysteresis":  described(number(), "how far back past the threshold the signal must go to resolve"),
			"repeat":      described(str(), "how often a rule still firing notifies again; \"0s\": once"),
			"webhook_url": described(str(), "scheme and host only, for a viewer"), "webhook_format": enum("json", "slack"), "enabled": boolean(),
			"source": enum("api", "file"), "state": enum("ok", "pending", "firing"), "since": nullable(dateTime()), "value": described(nullable(number()), "the signal's value at the rule's last change of state"),
			"silenced_until": nullable(dateTime()), "created_at": nullable(dateTime()), "updated_at": nullable(dateTime()),
		}),
		"AlertEvent": object(map[string]schema{
			"id": integer(), "rule_id": str(), "rule_name": str(), "kind": enum("firing", "resolved", "repeat"), "at": dateTime(),
			"value": number(), "silenced": boolean(), "status": enum("pending", "delivered", "failed", "none"),
			"url": str(), "body": described(str(), "the notification as sent"), "attempts": integer(), "next_attempt_at": nullable(dateTime()),
			"deliveries": arrayOf(object(map[string]schema{"at": dateTime(), "status_code": integer(), "error": str(), "duration_ms": number()})),
		}),
		"Account": object(map[string]schema{
			"id": str(), "email": str(), "role": enum("viewer", "operator", "admin"),
			"created_at": dateTime(), "updated_at": dateTime(), "last_sign_in_at": nullable(dateTime()),
		}),
		"APIToken": object(map[string]schema{
			"id": str(), "name": str(), "role": enum("viewer", "operator", "admin"),
			"account_id": described(str(), "the account that made it, empty when made by the CLI or the admin token; removing the account revokes it"),
			"created_at": dateTime(), "expires_at": nullable(dateTime()), "last_used_at": nullable(dateTime()), "revoked_at": nullable(dateTime()),
		}),
		"AuditEntry": object(map[string]schema{
			"id": integer(), "at": dateTime(), "actor": str(), "account_id": str(), "client_ip": str(),
			"action": described(str(), "the route, as POST /api/dlq/replay/, or the command, as pulse users add"),
			"target": str(), "outcome": enum("ok", "refused", "failed"), "status": integer(),
			"detail": described(str(), "a summary, or the reason the client was given"), "request_id": str(),
		}),
		"RollupKey": object(map[string]schema{
			"key": str(), "added_at": dateTime(),
			"ready":  described(boolean(), "every stored event is counted: breakdowns by the key read the rollups"),
			"filled": described(number(), "the share, 0 to 1, of the events stored before the key was added that are counted"),
		}),
		"TrackingSource": object(map[string]schema{
			"id": str(), "name": str(), "write_key": str(), "origins": arrayOf(str()),
			"settings": object(map[string]schema{"respect_dnt": boolean(), "plan?": ref("PlanMode")}), "created_at": dateTime(), "revoked_at": nullable(dateTime()),
		}),
		"PlanMode": described(enum("off", "warn", "strict"), "How the collector holds a source's events to the tracking plan: not at all, stored and counted in the warnings, or refused with the reason"),
		"PlanEntry": object(map[string]schema{
			"event_type": str(), "description": str(), "schema": described(schema{}, "A JSON Schema (draft 2020-12 unless it says otherwise) the event's properties must match, as written"),
			"updated_at": dateTime(),
		}),
		"TrendPeriod": object(map[string]schema{
			"from": dateTime(), "to": dateTime(), "buckets": arrayOf(dateTime()), "total": integer(),
			"series": arrayOf(object(map[string]schema{
				"key":    described(str(), "The event type, the breakdown's value (empty when the event has none), or (other)"),
				"other?": boolean(), "total": integer(), "counts": arrayOf(integer()),
			})),
		}),
		"InsightFilter": strict(object(map[string]schema{
			"field":   described(str(), "page, element_id, source_id, session_id or properties.<key>"),
			"op":      enum("equals", "not_equals", "contains", "in", "is_set"),
			"value?":  described(str(), "The operand of equals, not_equals and contains: compared as text (a property's string unquoted, a number or boolean as its JSON)"),
			"values?": arrayOf(str()),
		})),
		"FunnelStep": strict(object(map[string]schema{"event_type": str(), "filters?": arrayOf(ref("InsightFilter"))})),
		"FunnelStepResult": object(map[string]schema{
			"event_type": str(), "filters": arrayOf(ref("InsightFilter")),
			"count":           described(integer(), "Users who reached the step, in order, within the window of their first step"),
			"conversion":      described(number(), "count over the first step's count"),
			"step_conversion": described(number(), "count over the previous step's count"),
			"dropped":         described(integer(), "Users who reached the previous step but not this one"),
			"median_seconds":  described(nullable(number()), "Median time from the previous step to this one; null on the first step or when none reached it"),
			"dropped_users":   described(arrayOf(str()), "Up to dropped_users_limit of the dropped users, by id"),
		}),
		"PlanWarning": object(map[string]schema{
			"source_id": str(), "event_type": str(), "problem": described(str(), "unknown_event_type, or the schema keyword that failed (/properties/plan/enum)"),
			"field": str(), "reason": str(), "warned": integer(), "rejected": integer(),
			"example":  described(schema{}, "The latest such event as sent (a JSON string of its start beyond 4 KiB)"),
			"first_at": dateTime(), "last_at": dateTime(),
		}),
		"LedgerPoint": object(map[string]schema{
			"t?": dateTime(), "source_id": str(), "numbered": integer(), "received": integer(), "rejected": integer(),
			"dnt_dropped": integer(), "stored": integer(), "sequenced": integer(), "duplicates": integer(),
			"dropped_client": integer(), "late": integer(), "skew_corrected": integer(), "gaps": integer(),
		}),
		"Status":      status,
		"Source":      enum("api", "kafka", "producer", "collect"),
		"Event":       object(eventProps()),
		"EventInput":  object(input),
		"StoredEvent": object(stored),
		"Message": object(map[string]schema{
			"id": integer(), "event_id": str(), "event_type": str(), "user_id": str(), "element_id": str(),
			"status": ref("Status"), "source": ref("Source"), "consumer_id": str(), "topic": str(),
			"partition": integer(), "offset": integer(), "request_id?": str(),
			"queued_at": dateTime(), "started_at": nullable(dateTime()), "completed_at": nullable(dateTime()),
			"duration_ms": number(), "retries": integer(), "next_retry_at?": dateTime(), "error?": str(),
		}),
		"QueueStats": object(map[string]schema{
			"total": integer(), "queued": integer(), "processing": integer(), "retrying": integer(),
			"completed": integer(), "failed": integer(), "dead_lettered": integer(), "avg_processing_time_ms": number(),
		}),
		"Stats": object(map[string]schema{
			"total_events": integer(), "event_types": mapOf(integer()),
			"top_elements":      arrayOf(object(map[string]schema{"element_id": str(), "count": integer()})),
			"queue":             ref("QueueStats"),
			"events_per_second": number(), "recent_5min": integer(),
		}),
		"PartitionView": object(map[string]schema{
			"partition": integer(), "member": str(), "committed_offset": integer(), "end_offset": integer(),
			"lag": integer(), "lag_seconds": number(), "lowest_unfinished": nullable(integer()),
		}),
		"MemberView": object(map[string]schema{
			"member_id": str(), "client_id": str(), "host": str(), "partitions": arrayOf(integer()), "local": boolean(),
			"processed?": integer(), "dead_lettered?": integer(), "retried?": integer(), "in_flight?": integer(),
			"last_commit_at?": nullable(dateTime()),
		}),
		"ConsumersView": object(map[string]schema{
			"group": str(), "topic": str(), "state": str(),
			"members": arrayOf(ref("MemberView")), "partitions": arrayOf(ref("PartitionView")),
			"total_lag": integer(), "max_lag_seconds": number(), "freshness_seconds": number(), "sampled_at": dateTime(),
		}),
		"Marker": object(map[string]schema{
			"t": dateTime(), "kind": enum("rebalance", "commit_stall", "dlq_burst", "alert_firing", "alert_resolved", "rewind"), "detail": str(),
		}),
		"HistoryPoint": object(map[string]schema{
			"t": dateTime(), "total_lag": integer(), "max_lag_seconds": number(), "events_per_second": number(),
		}),
		"HeldKey": object(map[string]schema{
			"key": str(), "partition": integer(), "offset": integer(), "event_id": str(),
			"status": ref("Status"), "waiting": integer(), "consumer_id": str(),
		}),
		"DLQRecord": object(map[string]schema{
			"id": str(), "partition": integer(), "offset": integer(), "timestamp": dateTime(), "key": str(),
			"original_topic": str(), "original_partition": integer(), "original_offset": integer(),
			"error": str(), "kind": str(), "attempts": integer(), "consumer_id": str(), "failed_at": dateTime(),
			"event_id": str(), "payload": str(), "replayed": boolean(),
		}),
		"LoadRun": object(map[string]schema{
			"id": str(), "status": enum("running", "completed", "stopped", "failed"),
			"started_at": dateTime(), "ends_at": dateTime(), "ended_at?": dateTime(),
			"events_per_second": number(), "duration_seconds": number(),
			"failure_rate": number(), "delay_rate": number(), "mix": mapOf(number()),
			"target": integer(), "sent": integer(), "acked": integer(), "failed": integer(),
			"progress": number(), "current_rate": number(), "error?": str(),
		}),
		"RewindPlan": object(map[string]schema{
			"group": str(), "topic": str(), "to": str(), "dry_run": boolean(), "state": str(), "members": integer(),
			"partitions": arrayOf(object(map[string]schema{
				"partition": integer(), "committed_offset": integer(), "current_offset": integer(), "target_offset": integer(),
				"start_offset": integer(), "end_offset": integer(), "records": integer(), "skipped": integer(),
				"keys": integer(), "keys_lower_bound": boolean(), "member?": str(),
			})),
			"records": integer(), "skipped": integer(), "keys": integer(), "keys_lower_bound": boolean(),
			"applied": boolean(), "applied_at?": dateTime(), "method?": enum("commit", "members"),
		}),
		"Stage": object(map[string]schema{
			"stage": enum("produced", "fetched", "started", "attempt_failed", "retry_scheduled", "dead_lettered", "stored", "broadcast", "reprocessed"),
			"at":    dateTime(), "detail?": str(),
		}),
	}
}

// operation describes one route.
type operation struct {
	method, path, summary string
	// need is the role the route needs (docs/accounts.md).
	need        auth.Role
	query       []string // query parameters, all optional strings
	pathParams  []string
	body        schema // JSON request body, nil for none
	status      string // success status, "200" when empty
	result      schema // JSON answer; nil with contentType set
	contentType string // non-JSON answer
	// explorer marks the routes explorer.go registers.
	explorer bool
}

// whoamiSchema is the answer of GET /api/auth/me/ and of a sign-in.
var whoamiSchema = object(map[string]schema{
	"kind": enum("open", "session", "token", "admin_token"), "role": enum("viewer", "operator", "admin"),
	"account":    nullable(ref("Account")),
	"csrf_token": described(str(), "send it in X-CSRF-Token with a session's POST, PUT, PATCH and DELETE; empty for the other kinds"),
})

// operations lists every route, in the order of docs/api.md.
func operations() []operation {
	eventFilters := []string{"user_id", "event_type", "element_id", "session_id", "from", "to", "q"}
	return []operation{
		{method: "GET", path: "/api/events/latest/", need: auth.Viewer, summary: "Newest stored events with the statistics", query: []string{"limit"},
			result: object(map[string]schema{"events": arrayOf(ref("StoredEvent")), "stats": ref("Stats")})},
		{method: "POST", path: "/api/events/create/", need: auth.Operator, summary: "Ingest one event into Kafka", body: ref("EventInput"), status: "201",
			result: object(map[string]schema{"status": str(), "event_id": str(), "topic": str(), "partition": integer(), "offset": integer(), "request_id": str()})},
		{method: "POST", path: "/api/events/batch/", need: auth.Operator, summary: "Ingest up to 1000 events (JSON or NDJSON)", status: "201",
			body:   strict(object(map[string]schema{"events": arrayOf(ref("EventInput"))})),
			result: object(map[string]schema{"accepted": integer(), "event_ids": arrayOf(str())})},
		{method: "GET", path: "/api/queue/messages/", need: auth.Viewer, summary: "Processing log: in-flight messages, then stored rows", query: []string{"status", "source", "limit"},
			result: object(map[string]schema{"messages": arrayOf(ref("Message")), "count": integer()})},
		{method: "GET", path: "/api/queue/stats/", need: auth.Viewer, summary: "Processing-log counts", result: ref("QueueStats")},
		{method: "GET", path: "/api/health/", need: auth.Public, summary: "Health of the database, Kafka and the consumers",
			result: object(map[string]schema{"status": enum("healthy", "unhealthy"), "timestamp": dateTime(), "components": schema{"type": "object"}})},
		{method: "GET", path: "/api/metrics/", need: auth.Viewer, summary: "The seed's metrics as JSON and Prometheus text",
			result: object(map[string]schema{"metrics": schema{"type": "object"}, "prometheus_format": str()})},
		{method: "GET", path: "/api/consumer_metrics/", need: auth.Viewer, summary: "Consumer group members, partitions and lag",
			result: object(map[string]schema{"group": str(), "topic": str(), "consumers": arrayOf(schema{"type": "object"}),
				"partitions": arrayOf(schema{"type": "object"}), "total_lag": integer()})},
		{method: "GET", path: "/api/series/", need: auth.Viewer, summary: "Events stored per type and their latency percentiles per step of a range (15m, 1h, 6h, 24h, 7d)", query: []string{"range"},
			result: object(map[string]schema{"range": str(), "step_seconds": integer(), "from": dateTime(), "to": dateTime(),
				"times": arrayOf(integer()), "events": mapOf(arrayOf(integer())),
				"latency_ms": object(map[string]schema{"p50": arrayOf(nullable(number())), "p95": arrayOf(nullable(number())),
					"p99": arrayOf(nullable(number())), "samples": arrayOf(integer())})})},
		{method: "GET", path: "/metrics", need: auth.Operator, summary: "Prometheus exposition", contentType: "text/plain"},
		{method: "GET", path: "/ws/events/", need: auth.Viewer, summary: "WebSocket of live updates (initial_data, new_event(s), stats_update, queue_update, marker)", status: "101", contentType: "websocket"},
		{method: "GET", path: "/api/consumers/", need: auth.Viewer, summary: "Consumer group view with lag in records and seconds", result: ref("ConsumersView")},
		{method: "GET", path: "/api/consumers/history/", need: auth.Viewer, summary: "Lag history of a range (15m, 1h, 6h, 24h, 7d) with markers", query: []string{"range"},
			result: object(map[string]schema{"range": str(), "interval_seconds": number(), "step_seconds": number(),
				"from": dateTime(), "to": dateTime(), "points": arrayOf(ref("HistoryPoint")), "markers": arrayOf(ref("Marker"))})},
		{method: "POST", path: "/api/consumers/rewind/", need: auth.Operator, summary: "Rewind the consumer group to a time, an offset, earliest or latest, or plan it (dry_run)",
			body: strict(object(map[string]schema{"to": described(str(), "an RFC 3339 time, earliest, latest, offset:N or offset:P=N,P=N"),
				"partitions?": arrayOf(integer()), "dry_run?": boolean()})),
			result: ref("RewindPlan")},
		{method: "GET", path: "/api/ordering/", need: auth.Viewer, summary: "Keys held back by the ordering rules",
			result: object(map[string]schema{"held_keys": arrayOf(ref("HeldKey")), "held_keys_total": integer(),
				"partitions": arrayOf(object(map[string]schema{"partition": integer(), "consumer_id": str(),
					"lowest_unfinished": nullable(integer()), "committed": integer()}))})},
		{method: "GET", path: "/api/dlq/", need: auth.Viewer, summary: "Newest dead letters grouped by error kind", query: []string{"limit"},
			result: object(map[string]schema{"total": integer(), "groups": arrayOf(object(map[string]schema{
				"kind": str(), "count": integer(), "records": arrayOf(ref("DLQRecord"))}))})},
		{method: "POST", path: "/api/dlq/replay/", need: auth.Operator, summary: "Replay dead letters to the main topic",
			body: strict(object(map[string]schema{"ids?": arrayOf(str()), "kind?": str(), "all?": boolean(), "dry_run?": boolean(),
				"rate?": number(), "strip_simulation?": boolean()})),
			result: object(map[string]schema{"dry_run": boolean(), "count": integer(), "records": arrayOf(object(map[string]schema{
				"id": str(), "event_id": str(), "original_offset": integer()}))})},
		{method: "GET", path: "/api/messages/{event_id}/", need: auth.Viewer, summary: "Timeline of one message", pathParams: []string{"event_id"}, explorer: true,
			result: object(map[string]schema{"message": ref("Message"), "event": nullable(ref("StoredEvent")), "stages": arrayOf(ref("Stage"))})},
		{method: "GET", path: "/api/events/", need: auth.Viewer, summary: "Event explorer with filters and keyset paging", explorer: true,
			query:  append(append([]string{}, eventFilters...), "limit", "cursor"),
			result: object(map[string]schema{"events": arrayOf(ref("StoredEvent")), "next_cursor": nullable(str())})},
		{method: "GET", path: "/api/events/export/", need: auth.Viewer, summary: "Streamed export of the matching events", explorer: true,
			query: append([]string{"format"}, eventFilters...), contentType: "text/csv"},
		{method: "POST", path: "/api/load/", need: auth.Operator, summary: "Start a generated load run", status: "201",
			body: strict(object(map[string]schema{"events_per_second": number(), "duration_seconds": number(),
				"failure_rate?": number(), "delay_rate?": number(), "mix?": mapOf(number())})),
			result: ref("LoadRun")},
		{method: "GET", path: "/api/load/", need: auth.Viewer, summary: "The current or last load run, or {\"status\":\"idle\"}",
			result: schema{"oneOf": []any{ref("LoadRun"), object(map[string]schema{"status": enum("idle")})}}},
		{method: "DELETE", path: "/api/load/", need: auth.Operator, summary: "Stop the load run", result: ref("LoadRun")},
		{method: "GET", path: "/api/load/runs/", need: auth.Viewer, summary: "The last 20 load runs, newest first (kept in memory)",
			result: object(map[string]schema{"runs": arrayOf(ref("LoadRun"))})},
		{method: "POST", path: "/api/collect/", need: auth.Public, summary: "A source's batch of tracked events (pulse.js); text/plain or application/json; see docs/tracker.md",
			body: strict(object(map[string]schema{"key?": str(), "sent_at?": dateTime(), "dropped?": integer(),
				"events": arrayOf(ref("CollectedEvent"))})),
			result: object(map[string]schema{"accepted": integer(), "rejected": arrayOf(object(map[string]schema{
				"index": integer(), "field": str(), "error": str()})), "dnt_dropped?": integer()})},
		{method: "OPTIONS", path: "/api/collect/", need: auth.Public, summary: "CORS preflight of the collector (any origin; the source's origins are checked on POST)", status: "204"},
		{method: "GET", path: "/api/sources/", need: auth.Viewer, summary: "The sources (sites and apps sending with pulse.js), revoked ones too, and where pulse.js is served",
			result: object(map[string]schema{"sources": arrayOf(ref("TrackingSource")), "tracker": object(map[string]schema{"url_path": str(), "integrity": str()})})},
		{method: "POST", path: "/api/sources/", need: auth.Operator, summary: "Create a source; its write key is in the answer", status: "201",
			body: strict(object(map[string]schema{"name": str(), "origins?": arrayOf(str()),
				"settings?": strict(object(map[string]schema{"respect_dnt?": boolean(), "plan?": ref("PlanMode")}))})),
			result: object(map[string]schema{"source": ref("TrackingSource")})},
		{method: "PATCH", path: "/api/sources/{id}/", need: auth.Operator, summary: "Change a source's origins or settings (what the body names; the rest stays)", pathParams: []string{"id"},
			body: strict(object(map[string]schema{"origins?": arrayOf(str()),
				"settings?": strict(object(map[string]schema{"respect_dnt?": boolean(), "plan?": ref("PlanMode")}))})),
			result: object(map[string]schema{"source": ref("TrackingSource")})},
		{method: "DELETE", path: "/api/sources/{id}/", need: auth.Operator, summary: "Revoke a source: its key is refused from then on, its ledger kept", pathParams: []string{"id"},
			result: object(map[string]schema{"source": ref("TrackingSource")})},
		{method: "GET", path: "/api/ledger/", need: auth.Viewer, summary: "The delivery ledger per source and step of a range (15m, 1h, 6h, 24h, 7d), and its totals", query: []string{"range", "source"},
			result: object(map[string]schema{"range": str(), "step_seconds": integer(), "from": dateTime(), "to": dateTime(),
				"points": arrayOf(ref("LedgerPoint")), "totals": arrayOf(ref("LedgerPoint"))})},
		{method: "GET", path: "/api/plan/", need: auth.Viewer, summary: "The tracking plan: a JSON Schema per event type",
			result: object(map[string]schema{"entries": arrayOf(ref("PlanEntry"))})},
		{method: "PUT", path: "/api/plan/", need: auth.Admin, summary: "Replace the whole tracking plan (a plan file applied); every entry is checked, then all are stored or none",
			body: strict(object(map[string]schema{"entries": arrayOf(strict(object(map[string]schema{
				"event_type": str(), "description?": str(), "schema": schema{}})))})),
			result: object(map[string]schema{"entries": arrayOf(ref("PlanEntry"))})},
		{method: "PUT", path: "/api/plan/types/{event_type}/", need: auth.Admin, summary: "Add or replace one event type's schema", pathParams: []string{"event_type"},
			body:   strict(object(map[string]schema{"description?": str(), "schema": schema{}})),
			result: object(map[string]schema{"entry": ref("PlanEntry")})},
		{method: "DELETE", path: "/api/plan/types/{event_type}/", need: auth.Admin, summary: "Take an event type out of the tracking plan", pathParams: []string{"event_type"},
			result: object(map[string]schema{"deleted": str()})},
		{method: "GET", path: "/api/plan/warnings/", need: auth.Viewer, summary: "What broke the tracking plan in a range, per source, event type and problem, with the latest example", query: []string{"range", "source"},
			result: object(map[string]schema{"range": str(), "from": dateTime(), "to": dateTime(), "warnings": arrayOf(ref("PlanWarning"))})},
		{method: "GET", path: "/api/insights/trend/", need: auth.Viewer, summary: "Stored events, or distinct users or sessions, per minute, hour, day or week of their event time over a range, per type or split by a breakdown (a field or properties.<key>: top N and other), filtered, with the previous period",
			query: []string{"event_type", "range", "from", "to", "interval", "breakdown", "limit", "compare", "measure", "filter"},
			result: object(map[string]schema{"interval": str(), "breakdown": str(), "measure": str(), "exact": described(boolean(), "false for users or sessions from the HyperLogLog sketches (within about 1%)"),
				"current": ref("TrendPeriod"), "previous": nullable(ref("TrendPeriod"))})},
		{method: "POST", path: "/api/insights/funnel/", need: auth.Viewer, summary: "Users who went through the steps in order within a window, per step: conversion, drop-off, median time between steps, the users who dropped, and an optional breakdown by a field of the first step",
			body: strict(object(map[string]schema{"steps": arrayOf(ref("FunnelStep")), "window?": described(str(), "30m, 1h, 7d...: from 1m to 90d; 1d by default"),
				"range?": enum("30m", "1h", "24h", "7d", "30d"), "from?": dateTime(), "to?": dateTime(),
				"breakdown?": str(), "limit?": integer()})),
			result: object(map[string]schema{"from": dateTime(), "to": dateTime(), "window_seconds": integer(),
				"steps": arrayOf(ref("FunnelStepResult")), "dropped_users_limit": integer(),
				"breakdown?": arrayOf(object(map[string]schema{"value": str(), "other?": boolean(),
					"steps": arrayOf(object(map[string]schema{"count": integer()}))}))})},
		{method: "GET", path: "/api/insights/retention/", need: auth.Viewer, summary: "Users first seen in each day or week of a range (cohorts) and how many were active again in each later period, on any event or return_event",
			query: []string{"period", "range", "from", "to", "return_event"},
			result: object(map[string]schema{"period": enum("day", "week"), "from": dateTime(), "to": dateTime(), "return_event": str(),
				"cohorts": arrayOf(object(map[string]schema{"start": dateTime(), "users": integer(),
					"returned": described(arrayOf(integer()), "the cohort's users active k periods after its own, for each period that has started")}))})},
		{method: "GET", path: "/api/insights/live/", need: auth.Viewer, summary: "Who is on the site now: users, sessions and events of the last 5 and 30 minutes, each of the 30 minutes, the top pages and elements of the last 5",
			result: object(map[string]schema{"now": dateTime(), "users_5m": integer(), "users_30m": integer(), "sessions_5m": integer(), "sessions_30m": integer(),
				"events_5m": integer(), "events_30m": integer(),
				"minutes":      arrayOf(object(map[string]schema{"start": dateTime(), "events": integer(), "users": integer()})),
				"top_pages":    arrayOf(object(map[string]schema{"key": str(), "events": integer()})),
				"top_elements": arrayOf(object(map[string]schema{"key": str(), "events": integer()}))})},
		{method: "GET", path: "/api/insights/saved/", need: auth.Viewer, summary: "The saved insights, oldest first; the pinned ones are on the dashboard",
			result: object(map[string]schema{"insights": arrayOf(ref("SavedInsight"))})},
		{method: "POST", path: "/api/insights/saved/", need: auth.Operator, summary: "Save an insight: a page's parameters under a name (at most 200)", status: "201",
			body:   strict(object(map[string]schema{"name": str(), "kind": enum("trend", "funnel", "retention"), "query": str(), "pinned?": boolean()})),
			result: object(map[string]schema{"insight": ref("SavedInsight")})},
		{method: "PATCH", path: "/api/insights/saved/{id}/", need: auth.Operator, summary: "Rename, pin or unpin, or change the parameters of a saved insight (what the body names; the rest stays)", pathParams: []string{"id"},
			body:   strict(object(map[string]schema{"name?": str(), "query?": str(), "pinned?": boolean()})),
			result: object(map[string]schema{"insight": ref("SavedInsight")})},
		{method: "DELETE", path: "/api/insights/saved/{id}/", need: auth.Operator, summary: "Delete a saved insight", pathParams: []string{"id"}, status: "204"},
		{method: "GET", path: "/api/alerts/rules/", need: auth.Viewer, summary: "The alert rules, the rules file's first, with their state and silence",
			result: object(map[string]schema{"rules": arrayOf(ref("AlertRule")), "signals": arrayOf(str()), "max": integer()})},
		{method: "POST", path: "/api/alerts/rules/", need: auth.Operator, summary: "Add an alert rule (400 naming the field at fault; 409 beyond the maximum)", status: "201",
			body: strict(object(map[string]schema{"name": str(), "signal": str(), "event_type?": str(), "page?": str(), "compare?": str(), "window?": str(),
				"op": str(), "threshold?": number(), "for?": str(), "hysteresis?": number(), "repeat?": str(), "webhook_url?": str(),
				"webhook_format?": enum("json", "slack"), "enabled?": boolean()})),
			result: object(map[string]schema{"rule": ref("AlertRule")})},
		{method: "PUT", path: "/api/alerts/rules/{id}/", need: auth.Operator, summary: "Replace an alert rule's definition; its state carries on (409 for a rule of the rules file)", pathParams: []string{"id"},
			body: strict(object(map[string]schema{"name": str(), "signal": str(), "event_type?": str(), "page?": str(), "compare?": str(), "window?": str(),
				"op": str(), "threshold?": number(), "for?": str(), "hysteresis?": number(), "repeat?": str(), "webhook_url?": str(),
				"webhook_format?": enum("json", "slack"), "enabled?": boolean()})),
			result: object(map[string]schema{"rule": ref("AlertRule")})},
		{method: "DELETE", path: "/api/alerts/rules/{id}/", need: auth.Operator, summary: "Delete an alert rule and its state; its history stays (409 for a rule of the rules file)", pathParams: []string{"id"}, status: "204"},
		{method: "PUT", path: "/api/alerts/rules/{id}/silence/", need: auth.Operator, summary: "Silence a rule until a time or for a duration (at most 30 days); until null lifts it. A silenced rule still changes state and is recorded, and sends nothing",
			pathParams: []string{"id"},
			body:       strict(object(map[string]schema{"until?": nullable(dateTime()), "for?": described(str(), "a duration such as \"2h\"")})),
			result:     object(map[string]schema{"rule": ref("AlertRule")})},
		{method: "GET", path: "/api/alerts/history/", need: auth.Viewer, summary: "Alert rules' firings, repeats and resolutions, newest first, each with its notification's delivery attempts; next_before pages on",
			query:  []string{"rule", "before", "limit"},
			result: object(map[string]schema{"events": arrayOf(ref("AlertEvent")), "next_before": nullable(integer())})},
		{method: "GET", path: "/api/insights/rollup-keys/", need: auth.Viewer, summary: "The property keys kept in the rollups, oldest first: a breakdown by one reads rows per bucket instead of the events once it is ready",
			result: object(map[string]schema{"keys": arrayOf(ref("RollupKey")), "max": integer()})},
		{method: "POST", path: "/api/insights/rollup-keys/", need: auth.Admin, summary: "Keep a property key in the rollups: the events stored from now on are counted at once, the older ones in the background (201; 200 when kept already; 409 beyond the maximum)", status: "201",
			body:   strict(object(map[string]schema{"key": described(str(), "the key alone (plan, not properties.plan): 1 to 64 letters, digits, '_' or '-'")})),
			result: object(map[string]schema{"key": ref("RollupKey")})},
		{method: "DELETE", path: "/api/insights/rollup-keys/{key}/", need: auth.Admin, summary: "Stop keeping a property key in the rollups (its rows go in the background; 404 when not kept)", pathParams: []string{"key"}, status: "204"},
		{method: "GET", path: "/api/users/{user_id}/", need: auth.Viewer, summary: "A user's page: first and last seen, events by type and per day of the last 90, the sessions of the latest 1,000 events (the user's events: GET /api/events/?user_id=); 404 for a user never seen",
			pathParams: []string{"user_id"},
			result: object(map[string]schema{"user_id": str(), "first_seen": dateTime(), "last_seen": nullable(dateTime()),
				"counted_from": described(str(), "the first day (YYYY-MM-DD) events, event_types and days count: the first seen day, at most 399 days before today"),
				"events":       integer(), "event_types": mapOf(integer()),
				"days":                 described(arrayOf(object(map[string]schema{"day": str(), "events": integer()})), "the last 90 UTC days, oldest first, days without events as 0"),
				"sessions":             described(arrayOf(ref("UserSession")), "newest first, at most 100"),
				"sessions_from_events": described(integer(), "how many of the latest events (at most 1,000) the sessions are built from")})},
		{method: "GET", path: "/api/auth/me/", need: auth.Public, summary: "Who the request is: kind (open, session, token, admin_token), role, account, and the session's CSRF token; 401 when no one (the UI's cue to sign in)",
			result: whoamiSchema},
		{method: "POST", path: "/api/auth/login/", need: auth.Public, summary: "Sign in with email and password: sets the HttpOnly session cookie. 401 for a wrong email or password alike, 429 after too many attempts (Retry-After)",
			body: strict(object(map[string]schema{"email": str(), "password": str()})), result: whoamiSchema},
		{method: "POST", path: "/api/auth/logout/", need: auth.Public, summary: "Sign out: ends the session (with everywhere, every session of the account) and clears the cookie; needs X-CSRF-Token while the session lives", status: "204",
			body: strict(object(map[string]schema{"everywhere": boolean()}))},
		{method: "GET", path: "/api/auth/providers/", need: auth.Public, summary: "The ways to sign in, for the sign-in page: email and password, and the OpenID provider (null when none is configured)",
			result: object(map[string]schema{"password": boolean(), "oidc": nullable(object(map[string]schema{
				"name": described(str(), "the provider's name for its button"), "login_url": described(str(), "where the button goes: /api/auth/oidc/login/ (add ?next=/page)")}))})},
		{method: "GET", path: "/api/auth/oidc/login/", need: auth.Public, summary: "Start a sign-in through the OpenID provider: sets the short-lived flow cookie and redirects (302) to the provider; next is the page to open afterwards (a path of this site, else /). A provider that cannot be reached redirects to /?signin_error=",
			query: []string{"next"}, status: "302"},
		{method: "GET", path: "/api/auth/oidc/callback/", need: auth.Public, summary: "Where the provider sends the browser back (code and state, or error): sets the session cookie and redirects (302) to next; a refusal (state, nonce, code, no role, email not verified) redirects to /?signin_error=<reason>. Recorded in the audit log",
			query: []string{"code", "state", "error"}, status: "302"},
		{method: "GET", path: "/api/accounts/", need: auth.Admin, summary: "Every account, oldest first",
			result: object(map[string]schema{"accounts": arrayOf(ref("Account"))})},
		{method: "POST", path: "/api/accounts/", need: auth.Admin, summary: "Add an account with a password (8 characters at least); 409 when the email is taken", status: "201",
			body: strict(object(map[string]schema{"email": str(), "role": enum("viewer", "operator", "admin"), "password": str()})), result: object(map[string]schema{"account": ref("Account")})},
		{method: "PATCH", path: "/api/accounts/{id}/", need: auth.Admin, summary: "Change an account's role or password (a new password ends its sessions); 409 for the last admin", pathParams: []string{"id"},
			body: strict(object(map[string]schema{"role": enum("viewer", "operator", "admin"), "password": str()})), result: object(map[string]schema{"account": ref("Account")})},
		{method: "DELETE", path: "/api/accounts/{id}/", need: auth.Admin, summary: "Remove an account: its sessions end, its tokens are revoked; 409 for the last admin", pathParams: []string{"id"}, status: "204"},
		{method: "GET", path: "/api/tokens/", need: auth.Admin, summary: "Every API token, revoked ones too, oldest first (never their secrets)",
			result: object(map[string]schema{"tokens": arrayOf(ref("APIToken"))})},
		{method: "POST", path: "/api/tokens/", need: auth.Admin, summary: "Make an API token; its secret is in this answer only", status: "201",
			body:   strict(object(map[string]schema{"name": str(), "role": enum("viewer", "operator", "admin"), "expires_in": described(str(), "30d, 12h; absent: no expiry")})),
			result: object(map[string]schema{"token": ref("APIToken"), "secret": str()})},
		{method: "DELETE", path: "/api/tokens/{id}/", need: auth.Admin, summary: "Revoke an API token", pathParams: []string{"id"},
			result: object(map[string]schema{"token": ref("APIToken")})},
		{method: "GET", path: "/api/audit/", need: auth.Admin, summary: "The audit log, newest first: sign-ins (refused ones too) and every change; filters actor, action, outcome (ok, refused, failed), q (text in actor, action, target, detail, client IP or request id), from, to; pages of limit (1..1000, 100) before an entry id",
			query:  []string{"actor", "action", "outcome", "q", "from", "to", "before", "limit"},
			result: object(map[string]schema{"entries": arrayOf(ref("AuditEntry")), "next_before": nullable(integer())})},
		{method: "GET", path: "/api/audit/export/", need: auth.Admin, summary: "Every matching audit entry, newest first, as CSV (the default) or NDJSON; the same filters",
			query: []string{"actor", "action", "outcome", "q", "from", "to", "format"}, contentType: "text/csv"},
		{method: "GET", path: "/api/privacy/fields/", need: auth.Viewer, summary: "The personal fields, masked for every reader below admin (masked says whether they are for the caller)",
			result: object(map[string]schema{"fields": arrayOf(str()), "masked": boolean()})},
		{method: "PUT", path: "/api/privacy/fields/", need: auth.Admin, summary: "Declare the personal fields: user_id, session_id, anonymous_id or properties.<key>[.<key>...]; at most 50",
			body:   strict(object(map[string]schema{"fields": arrayOf(str())})),
			result: object(map[string]schema{"fields": arrayOf(str()), "masked": boolean()})},
		{method: "POST", path: "/api/privacy/erase/", need: auth.Admin, summary: "Erase a user: events, processing-log rows and aggregates deleted in one transaction, the user on the suppression list (by SHA-256), so later records of theirs are dead-lettered",
			body:   strict(object(map[string]schema{"user_id": str()})),
			result: object(map[string]schema{"user_hash": str(), "events": integer(), "messages": integer(), "already": boolean()})},
		{method: "GET", path: "/api/privacy/erased/", need: auth.Admin, summary: "The suppression list, newest first; pages of limit (1..500, 100) before a time",
			query:  []string{"limit", "before"},
			result: object(map[string]schema{"erased": arrayOf(schema{"type": "object"}), "next_before": nullable(dateTime())})},
		{method: "GET", path: "/pulse.js", need: auth.Public, summary: "The tracker script (its path is --tracker-path)", contentType: "text/javascript"},
		{method: "GET", path: "/api/openapi.json", need: auth.Viewer, summary: "This description", result: schema{"type": "object"}},
		{method: "GET", path: "/", need: auth.Public, summary: "The web UI (index.html for client-side routes, /assets/*)", contentType: "text/html"},
	}
}

// OpenAPI returns the OpenAPI 3.1 document of the API.
func OpenAPI() map[string]any {
	errResp := schema{"description": "error", "content": schema{"application/json": schema{"schema": ref("Error")}}}
	paths := map[string]any{}
	for _, op := range operations() {
		o := schema{"summary": op.summary, "operationId": operationID(op)}
		var params []any
		for _, p := range op.pathParams {
			params = append(params, schema{"name": p, "in": "path", "required": true, "schema": str()})
		}
		for _, q := range op.query {
			params = append(params, schema{"name": q, "in": "query", "required": false, "schema": str()})
		}
		if params != nil {
			o["parameters"] = params
		}
		if op.body != nil {
			o["requestBody"] = schema{"required": true, "content": schema{"application/json": schema{"schema": op.body}}}
		}
		status := op.status
		if status == "" {
			status = "200"
		}
		ok := schema{"description": "success"}
		switch {
		case op.result != nil:
			ok["content"] = schema{"application/json": schema{"schema": op.result}}
		case op.contentType != "" && op.contentType != "websocket":
			ok["content"] = schema{op.contentType: schema{"schema": str()}}
		}
		responses := schema{status: ok, "4XX": errResp, "5XX": errResp}
		if op.need == auth.Public {
			o["security"] = []any{}
		} else {
			o["x-pulse-role"] = op.need.String()
			o["description"] = "Needs the " + op.need.String() + " role: a signed-in session (with X-CSRF-Token on unsafe methods) or Authorization: Bearer <API token>. Open to this machine on a loopback server before the first account."
		}
		if op.method == "POST" && op.path == "/api/load/" {
			responses["409"] = schema{"description": "a load run is running already"}
		}
		o["responses"] = responses
		item, _ := paths[op.path].(schema)
		if item == nil {
			item = schema{}
			paths[op.path] = item
		}
		item[strings.ToLower(op.method)] = o
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": schema{
			"title":       "Pulse API",
			"version":     "1",
			"description": "Real-time user-action tracking on Apache Kafka: ingest, dashboard reads, live updates and the operator console. Paths keep trailing slashes; the server answers without them too.",
		},
		"paths":    paths,
		"security": []any{schema{"session": []any{}}, schema{"bearerToken": []any{}}},
		"components": schema{
			"schemas": components(),
			"securitySchemes": schema{
				"bearerToken": schema{"type": "http", "scheme": "bearer", "description": "An API token (plt_...) or the admin token"},
				"session":     schema{"type": "apiKey", "in": "cookie", "name": sessionCookie},
			},
		},
	}
}

func operationID(op operation) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(op.method))
	for _, part := range strings.FieldsFunc(op.path, func(r rune) bool { return r == '/' || r == '.' || r == '{' || r == '}' || r == '_' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, OpenAPI())
}
