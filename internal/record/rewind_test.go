package record

import (
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestRewindRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC)
	req := RewindRequest{ID: "r1", Group: "g", Topic: "user_events", Offsets: map[int32]int64{0: 5, 2: 0},
		At: at, Deadline: at.Add(time.Minute)}
	kr, err := RewindRequestRecord(req)
	if err != nil {
		t.Fatal(err)
	}
	if kr.Topic != "user_events_rewinds" || string(kr.Key) != "g" {
		t.Errorf("request record topic %q key %q", kr.Topic, kr.Key)
	}
	got, ack, err := ParseRewind(kr)
	if err != nil || ack != nil || !reflect.DeepEqual(*got, req) {
		t.Errorf("ParseRewind(request) = %+v, %+v, %v; want %+v", got, ack, err, req)
	}

	a := RewindAck{ID: "r1", Group: "g", Member: "c1", Partition: 2, Offset: 0, Error: "x"}
	kr, err = RewindAckRecord("user_events", a)
	if err != nil {
		t.Fatal(err)
	}
	req2, got2, err := ParseRewind(kr)
	if err != nil || req2 != nil || *got2 != a {
		t.Errorf("ParseRewind(ack) = %+v, %+v, %v; want %+v", req2, got2, err, a)
	}
}

func TestRewindRejects(t *testing.T) {
	if _, err := RewindRequestRecord(RewindRequest{ID: "r", Group: "g", Topic: "t"}); err == nil {
		t.Error("a request without offsets was encoded")
	}
	for name, r := range map[string]*kgo.Record{
		"no kind":      {Value: []byte(`{}`)},
		"bad json":     {Value: []byte(`{`), Headers: []kgo.RecordHeader{{Key: HeaderRewindKind, Value: []byte(KindRewindRequest)}}},
		"no offsets":   {Value: []byte(`{"id":"r","group":"g"}`), Headers: []kgo.RecordHeader{{Key: HeaderRewindKind, Value: []byte(KindRewindRequest)}}},
		"ack no id":    {Value: []byte(`{"group":"g"}`), Headers: []kgo.RecordHeader{{Key: HeaderRewindKind, Value: []byte(KindRewindAck)}}},
		"unknown kind": {Value: []byte(`{}`), Headers: []kgo.RecordHeader{{Key: HeaderRewindKind, Value: []byte("x")}}},
	} {
		if _, _, err := ParseRewind(r); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}
