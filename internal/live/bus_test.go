package live

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"github.com/pulse-dev/pulse/internal/event"
)

const redisURL = "redis://127.0.0.1:6379/0"

func change(id string) event.Change {
	return event.Change{Events: []event.Stored{stored(id, "page_view", "")}}
}

// recv waits for one change or fails after a deadline.
func recv(t *testing.T, ch <-chan event.Change) event.Change {
	t.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no change received")
		return event.Change{}
	}
}

// none checks that nothing arrives for a short while: used only after a
// marker change proved later deliveries would have arrived.
func none(t *testing.T, ch <-chan event.Change) {
	t.Helper()
	select {
	case c := <-ch:
		t.Fatalf("unexpected change %+v", c)
	default:
	}
}

func TestBusFanOutAndDrops(t *testing.T) {
	reg := prometheus.NewRegistry()
	b := NewBus(nil, reg)
	fast, cancelFast := b.Subscribe(10)
	defer cancelFast()
	slow, cancelSlow := b.Subscribe(1)
	for i := 0; i < 5; i++ {
		b.Publish(change(fmt.Sprint(i)))
	}
	for i := 0; i < 5; i++ {
		if got := recv(t, fast).Events[0].EventID; got != fmt.Sprint(i) {
			t.Fatalf("fast got %s, want %d", got, i)
		}
	}
	if got := recv(t, slow).Events[0].EventID; got != "0" {
		t.Fatalf("slow got %s", got)
	}
	none(t, slow)
	if d := value(t, b.dropped); d != 4 {
		t.Fatalf("dropped = %v, want 4", d)
	}
	cancelSlow()
	cancelSlow() // idempotent
	if _, ok := <-slow; ok {
		t.Fatal("cancelled subscription not closed")
	}
	b.Publish(change("after"))
	if got := recv(t, fast).Events[0].EventID; got != "after" {
		t.Fatalf("fast got %s", got)
	}
}

func TestRedisBusSharesChangesOnce(t *testing.T) {
	ctx := context.Background()
	channel := "pulse-test-" + uuid.NewString()
	a, err := NewRedisBus(ctx, redisURL, channel, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := NewRedisBus(ctx, redisURL, channel, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	subA, cancelA := a.Subscribe(16)
	defer cancelA()
	subB, cancelB := b.Subscribe(16)
	defer cancelB()

	a.Publish(change("from-a"))
	if got := recv(t, subA).Events[0].EventID; got != "from-a" {
		t.Fatalf("a got %s locally", got)
	}
	if got := recv(t, subB).Events[0].EventID; got != "from-a" {
		t.Fatalf("b got %s via redis", got)
	}
	b.Publish(change("from-b"))
	if got := recv(t, subB).Events[0].EventID; got != "from-b" {
		t.Fatalf("b got %s locally", got)
	}
	if got := recv(t, subA).Events[0].EventID; got != "from-b" {
		t.Fatalf("a got %s via redis", got)
	}
	// A marker from b proves a has read everything Redis had for it: had
	// a's own change come back through Redis, it would precede the marker.
	b.Publish(change("marker"))
	recv(t, subB)
	if got := recv(t, subA).Events[0].EventID; got != "marker" {
		t.Fatalf("a got %s, want the marker (its own change echoed?)", got)
	}
	none(t, subA)
	none(t, subB)
}

func TestRedisBusBadURL(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := NewRedisBus(ctx, "redis://127.0.0.1:1/0", "x", nil, nil); err == nil {
		t.Fatal("connected to a closed port")
	}
	if _, err := NewRedisBus(ctx, "http://nope", "x", nil, nil); err == nil {
		t.Fatal("accepted a non-redis url")
	}
}

func TestRedisBusIgnoresForeignMessages(t *testing.T) {
	ctx := context.Background()
	channel := "pulse-test-" + uuid.NewString()
	reg := prometheus.NewRegistry()
	a, err := NewRedisBus(ctx, redisURL, channel, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	sub, cancelSub := a.Subscribe(4)
	defer cancelSub()
	if err := a.client.Publish(ctx, channel, "not json").Err(); err != nil {
		t.Fatal(err)
	}
	b, err := NewRedisBus(ctx, redisURL, channel, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.Publish(change("ok"))
	if got := recv(t, sub).Events[0].EventID; got != "ok" {
		t.Fatalf("got %s", got)
	}
	if n := value(t, a.bad); n != 1 {
		t.Fatalf("bad messages = %v, want 1", n)
	}
}

// value reads a counter or gauge.
func value(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatal(err)
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

// proxy forwards TCP connections to target until closed, so a test can
// take "Redis" away from one client without stopping the shared server.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); _, _ = io.Copy(out, in); out.Close() }()
			go func() { defer p.wg.Done(); _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func TestRedisBusCountsDropsWhenRedisIsDown(t *testing.T) {
	p := newProxy(t, "127.0.0.1:6379")
	b, err := NewRedisBus(context.Background(), "redis://"+p.ln.Addr().String()+"/0", "pulse-test-"+uuid.NewString(), nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sub, cancelSub := b.Subscribe(1024)
	defer cancelSub()
	p.close()

	deadline := time.Now().Add(30 * time.Second)
	for i := 0; value(t, b.dropped) == 0; i++ {
		if time.Now().After(deadline) {
			t.Fatal("no drop counted with Redis gone")
		}
		start := time.Now()
		b.Publish(change(fmt.Sprint(i)))
		if d := time.Since(start); d > time.Second {
			t.Fatalf("Publish blocked for %v", d)
		}
		// Local subscribers still get every change.
		if got := recv(t, sub).Events[0].EventID; got != fmt.Sprint(i) {
			t.Fatalf("local got %s", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRedisBusCountsMissedChanges: a receiver notices when another
// process's envelopes went missing, from the changes that follow the gap
// and from an idle publisher's heartbeat alike.
func TestRedisBusCountsMissedChanges(t *testing.T) {
	ctx := context.Background()
	channel := "pulse-test-" + uuid.NewString()
	b, err := NewRedisBus(ctx, redisURL, channel, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sub, cancelSub := b.Subscribe(16)
	defer cancelSub()
	send := func(seq uint64, ids ...string) {
		t.Helper()
		env := envelope{Origin: "other", Seq: seq}
		for _, id := range ids {
			env.Changes = append(env.Changes, change(id))
		}
		data, err := json.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.client.Publish(ctx, channel, data).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// The first envelope heard sets where the origin's numbers stand.
	send(7, "a")
	recv(t, sub)
	send(8, "b")
	recv(t, sub)
	if g := b.Gaps(); g != 0 {
		t.Fatalf("gaps %d after consecutive envelopes", g)
	}
	// 9 and 10 never arrive.
	send(11, "c")
	recv(t, sub)
	if g := b.Gaps(); g != 2 {
		t.Fatalf("gaps %d after 9 and 10 went missing, want 2", g)
	}
	// An idle publisher's heartbeat repeating 11 is no gap; one saying 12
	// is: its change never arrived.
	send(11)
	send(12)
	send(13, "d")
	recv(t, sub)
	if g := b.Gaps(); g != 3 {
		t.Fatalf("gaps %d after a heartbeat said 12, want 3", g)
	}
	if n := value(t, b.missed); n != 3 {
		t.Fatalf("missed counter %v, want 3", n)
	}
}

// TestRedisBusNumbersItsEnvelopes: what a bus sends is numbered from 1, so
// that receivers can count gaps.
func TestRedisBusNumbersItsEnvelopes(t *testing.T) {
	ctx := context.Background()
	channel := "pulse-test-" + uuid.NewString()
	raw := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer raw.Close()
	ps := raw.Subscribe(ctx, channel)
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	a, err := NewRedisBus(ctx, redisURL, channel, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var seqs []uint64
	for i := range 3 {
		a.Publish(change(fmt.Sprint(i)))
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		m, err := ps.ReceiveMessage(rctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		var env envelope
		if err := json.Unmarshal([]byte(m.Payload), &env); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, env.Seq)
	}
	if fmt.Sprint(seqs) != "[1 2 3]" {
		t.Fatalf("sequence numbers %v, want [1 2 3]", seqs)
	}
}

func TestBusCountsGapsWhenASubscriberMisses(t *testing.T) {
	b := NewBus(nil, nil)
	_, cancel := b.Subscribe(1)
	defer cancel()
	b.Publish(change("a"))
	if b.Gaps() != 0 {
		t.Fatal("a gap with room in the buffer")
	}
	b.Publish(change("b"))
	if b.Gaps() != 1 {
		t.Fatalf("gaps %d after a full buffer, want 1", b.Gaps())
	}
}
