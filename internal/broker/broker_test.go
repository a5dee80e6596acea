package broker

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func start(t *testing.T, cfg Config) *Broker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := Start(ctx, cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRestartKeepsRecordsOffsetsAndTopics(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{
		Addr:    "127.0.0.1:0",
		DataDir: dir,
		Topics:  []Topic{{Name: "user_events", Partitions: 3}, {Name: "user_events_dlq", Partitions: 1}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	b := start(t, cfg)
	if host, port, _ := net.SplitHostPort(b.Addr()); host != "127.0.0.1" || port == "0" {
		t.Fatalf("Addr() = %q, want 127.0.0.1 and a real port", b.Addr())
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.DefaultProduceTopic("user_events"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 10
	for i := range n {
		r := &kgo.Record{Key: []byte("user_001:page_view"), Value: []byte{byte('a' + i)}}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}
	adm := kadm.NewClient(cl)
	// All ten records share a key, so they sit on one partition.
	ends, err := adm.ListEndOffsets(ctx, "user_events")
	if err != nil {
		t.Fatal(err)
	}
	var part int32 = -1
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset == n {
			part = o.Partition
		}
	})
	if part < 0 {
		t.Fatalf("no partition holds %d records: %v", n, ends)
	}
	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: "user_events", Partition: part, At: 7, LeaderEpoch: -1})
	if err := adm.CommitAllOffsets(ctx, "g1", offs); err != nil {
		t.Fatalf("commit: %v", err)
	}
	cl.Close()
	b.Close()
	b.Close() // a second Close is harmless

	b = start(t, cfg)
	defer b.Close()
	cl, err = kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm = kadm.NewClient(cl)

	details, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(details["user_events"].Partitions); got != 3 {
		t.Errorf("user_events has %d partitions after restart, want 3", got)
	}
	if !details.Has("user_events_dlq") {
		t.Error("user_events_dlq missing after restart")
	}
	ends, err = adm.ListEndOffsets(ctx, "user_events")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := ends.Lookup("user_events", part); o.Offset != n {
		t.Errorf("end offset after restart = %d, want %d (records not recreated nor lost)", o.Offset, n)
	}
	committed, err := adm.FetchOffsets(ctx, "g1")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := committed.Lookup("user_events", part); !ok || o.At != 7 {
		t.Errorf("committed offset after restart = %+v (found %v), want 7", o, ok)
	}

	// The records themselves are readable.
	cons, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		"user_events": {part: kgo.NewOffset().AtStart()},
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	var got []byte
	for len(got) < n {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %d records before timeout", len(got))
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, r.Value...) })
	}
	if string(got) != "abcdefghij" {
		t.Errorf("records after restart = %q", got)
	}
}

func TestCreatesMissingTopicOnLoadedDir(t *testing.T) {
	dir := t.TempDir()
	b := start(t, Config{DataDir: dir, Topics: []Topic{{Name: "a", Partitions: 1}}})
	b.Close()
	b = start(t, Config{DataDir: dir, Topics: []Topic{{Name: "a", Partitions: 1}, {Name: "b", Partitions: 2}}})
	defer b.Close()

	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	details, err := kadm.NewClient(cl).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !details.Has("a") || len(details["b"].Partitions) != 2 {
		t.Errorf("topics = %v", details.Names())
	}
}

func TestSASL(t *testing.T) {
	b := start(t, Config{Users: []User{{Mechanism: "SCRAM-SHA-256", Name: "alice", Password: "pw"}}, Topics: []Topic{{Name: "t", Partitions: 1}}})
	defer b.Close()
	if _, err := mechanism(User{Mechanism: "GSSAPI"}); err == nil {
		t.Error("unknown mechanism accepted")
	}
}

func TestBadAddress(t *testing.T) {
	if _, err := Start(context.Background(), Config{Addr: "nonsense"}, nil); err == nil {
		t.Fatal("want an error for an address without a port")
	}
	b := start(t, Config{})
	defer b.Close()
	if _, err := Start(context.Background(), Config{Addr: b.Addr()}, nil); err == nil {
		t.Fatal("want an error for an address in use")
	}
}

// TestRetentionBoundsTheLog produces past the size retention and waits
// for the log start to move, then restarts with retention off and checks
// that the topic's config follows the new setting.
func TestRetentionBoundsTheLog(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{
		Addr: "127.0.0.1:0", DataDir: dir,
		Topics:         []Topic{{Name: "user_events", Partitions: 1}},
		Retention:      time.Hour,
		RetentionBytes: 4 << 10,
		RetentionCheck: 50 * time.Millisecond,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := start(t, cfg)
	// Uncompressed, so that each batch takes what its record holds.
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.DefaultProduceTopic("user_events"),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	// One record a batch, 1 KiB each: 16 KiB in all, four times the bound.
	value := []byte(strings.Repeat("x", 1<<10))
	for range 16 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: value}).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}
	if got := topicConfigs(ctx, t, adm, "user_events"); got["retention.bytes"] != "4096" || got["retention.ms"] != "3600000" {
		t.Errorf("topic configs = %v, want retention.bytes 4096 and retention.ms 3600000", got)
	}
	// Each batch is a little over 1 KiB on the wire, so at most 4 stay.
	// A retention pass may run while the batches are still arriving and
	// trim to an earlier start, so the start is polled until it reaches
	// the bound, not only until it first moves.
	var logStart int64
	for ctx.Err() == nil {
		offs, err := adm.ListStartOffsets(ctx, "user_events")
		if err != nil {
			t.Fatal(err)
		}
		o, _ := offs.Lookup("user_events", 0)
		if logStart = o.Offset; logStart >= 12 {
			break
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
	if logStart < 12 {
		t.Fatalf("log start offset %d after 16 batches of 1 KiB with retention 4 KiB, want at least 12", logStart)
	}
	cl.Close()
	b.Close()

	cfg.Retention, cfg.RetentionBytes = 0, 0
	b = start(t, cfg)
	defer b.Close()
	cl, err = kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if got := topicConfigs(ctx, t, kadm.NewClient(cl), "user_events"); got["retention.bytes"] != "-1" || got["retention.ms"] != "-1" {
		t.Errorf("after restart with retention off, topic configs = %v, want -1 for both", got)
	}
}

func topicConfigs(ctx context.Context, t *testing.T, adm *kadm.Client, topic string) map[string]string {
	t.Helper()
	rcs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On(topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range rc.Configs {
		if c.Value != nil {
			out[c.Key] = *c.Value
		}
	}
	return out
}

// TestAdvertisedAddress binds every interface and advertises a name: a
// client bootstrapping from the advertised address is told that address
// in metadata (not 0.0.0.0, which no client can use) and produces
// through it, with SASL.
func TestAdvertisedAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	user := User{Mechanism: "SCRAM-SHA-256", Name: "pulse", Password: "s3cret"}
	b := start(t, Config{
		Addr:           "0.0.0.0:" + port,
		AdvertisedAddr: "localhost:" + port,
		Users:          []User{user},
		Topics:         []Topic{{Name: "t", Partitions: 1}},
	})
	defer b.Close()
	if b.Addr() != "localhost:"+port {
		t.Errorf("Addr() = %q, want the advertised localhost:%s", b.Addr(), port)
	}
	m, err := mechanism(user)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers("localhost:"+port), kgo.SASL(m), kgo.DefaultProduceTopic("t"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	meta, err := kadm.NewClient(cl).BrokerMetadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, br := range meta.Brokers {
		if br.Host != "localhost" || fmt.Sprint(br.Port) != port {
			t.Errorf("metadata advertises %s:%d, want localhost:%s", br.Host, br.Port, port)
		}
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatalf("produce through the advertised address: %v", err)
	}
}
