package live

import (
	"strings"
	"testing"

	"github.com/pulse-dev/pulse/internal/event"
)

func TestPendingSampleKeepsOrder(t *testing.T) {
	keep := map[string]bool{"k1": true, "k2": true}
	p := pending{keep: func(id string) bool { return keep[id] }}
	var in []event.Message
	for _, id := range []string{"a", "k1", "b", "c", "k2", "d", "e"} {
		in = append(in, msg(id, event.StatusCompleted, 0))
	}
	var got []string
	for _, m := range p.sample(in, 4) {
		got = append(got, m.EventID)
	}
	if strings.Join(got, ",") != "k1,k2,d,e" {
		t.Fatalf("sample = %v, want k1,k2,d,e", got)
	}
}
