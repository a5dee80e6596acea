package event

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRecordIDIdentifiesTheRecord(t *testing.T) {
	ts := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	base := RecordRef{Topic: "user_events", Partition: 1, Offset: 42, Timestamp: ts,
		Key: []byte("k"), Value: []byte(`{"user_id":"u","event_type":"page_view"}`),
		Headers: []Header{{Key: "source", Value: []byte("kcat")}}}
	id := RecordID(base)
	if again := RecordID(base); again != id {
		t.Fatalf("a redelivery of the same record got %s, then %s", id, again)
	}
	if !IsDerived(id) {
		t.Fatalf("RecordID %s is not in the derived namespace", id)
	}
	change := map[string]func(r *RecordRef){
		"value":     func(r *RecordRef) { r.Value = []byte(`{"user_id":"v","event_type":"page_view"}`) },
		"timestamp": func(r *RecordRef) { r.Timestamp = ts.Add(time.Millisecond) },
		"key":       func(r *RecordRef) { r.Key = []byte("k2") },
		"null key":  func(r *RecordRef) { r.Key = nil },
		"empty key": func(r *RecordRef) { r.Key = []byte{} },
		"header":    func(r *RecordRef) { r.Headers = []Header{{Key: "source", Value: []byte("other")}} },
		"headers":   func(r *RecordRef) { r.Headers = nil },
		"offset":    func(r *RecordRef) { r.Offset = 43 },
		"partition": func(r *RecordRef) { r.Partition = 2 },
		"topic":     func(r *RecordRef) { r.Topic = "other" },
	}
	for what, fn := range change {
		r := base
		fn(&r)
		if got := RecordID(r); got == id {
			t.Errorf("a record with another %s gets the same id %s", what, got)
		}
	}
	// A null key and an empty one differ.
	n, e := base, base
	n.Key, e.Key = nil, []byte{}
	if RecordID(n) == RecordID(e) {
		t.Errorf("a null key and an empty key give the same id")
	}
}

// Ids of one partition sort by offset, for index locality.
func TestRecordIDSortsByOffset(t *testing.T) {
	var ids []string
	for off := int64(0); off < 3000; off += 7 {
		ids = append(ids, RecordID(RecordRef{Topic: "user_events", Partition: 3, Offset: off * 1013, Value: []byte{byte(off)}}))
	}
	if !slices.IsSorted(ids) {
		t.Fatalf("ids of increasing offsets do not sort: %v", ids[:5])
	}
}

// No client can claim a derived id, old or new, as its event_id.
func TestClaimedDerivedIDRefused(t *testing.T) {
	for _, id := range []string{
		RecordID(RecordRef{Topic: "user_events", Offset: 7}),
		DerivedID("user_events", 0, 7),
		strings.ToUpper(RecordID(RecordRef{Topic: "user_events", Offset: 8})),
		"0193e0a4-7b1c-8d2e-9f00-112233445566",
	} {
		_, err := Decode([]byte(`{"event_id":"` + id + `","user_id":"u","event_type":"page_view"}`))
		if err == nil || !strings.Contains(err.Error(), "event_id") || !strings.Contains(err.Error(), "reserved") {
			t.Errorf("event_id %s: err = %v, want it refused as reserved", id, err)
		}
	}
	for _, id := range []string{NewID(), "0193e0a4-7b1c-4d2e-9f00-112233445566", "my-id-1", "0193e0a47b1c8d2e9f00112233445566aa"} {
		if _, err := Decode([]byte(`{"event_id":"` + id + `","user_id":"u","event_type":"page_view"}`)); err != nil {
			t.Errorf("event_id %s refused: %v", id, err)
		}
	}
}
