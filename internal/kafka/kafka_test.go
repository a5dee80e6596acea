package kafka

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pulse-dev/pulse/internal/broker"
	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/record"
)

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startBroker runs an in-memory embedded broker with the events topic.
func startBroker(t *testing.T, bc broker.Config) *config.Config {
	t.Helper()
	if bc.Topics == nil {
		bc.Topics = []broker.Topic{{Name: "user_events", Partitions: 3}}
	}
	b, err := broker.Start(testCtx(t), bc, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	cfg := config.Default()
	cfg.Kafka.BootstrapServers = b.Addr()
	return &cfg
}

func newProducer(t *testing.T, cfg *config.Config, reg prometheus.Registerer) *Producer {
	t.Helper()
	p, err := NewProducer(ProducerConfig{Kafka: cfg.Kafka}, testLog(t), reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// readAll consumes every record of topic from the start until want
// records arrived.
func readAll(t *testing.T, cfg *config.Config, topic string, want int) []*kgo.Record {
	t.Helper()
	opts, err := ClientOpts(cfg.Kafka)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(append(opts, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := testCtx(t)
	var out []*kgo.Record
	for len(out) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records before the deadline", len(out), want)
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func sampleEvent(user string) *event.Event {
	return &event.Event{UserID: user, EventType: event.TypeButtonClick, ElementID: "btn_1", Page: "/home"}
}

func TestProduceWaitsForAckAndWritesKeyValueHeaders(t *testing.T) {
	cfg := startBroker(t, broker.Config{})
	reg := prometheus.NewRegistry()
	p := newProducer(t, cfg, reg)
	ctx := testCtx(t)

	e := sampleEvent("user_007")
	ack, err := p.Produce(ctx, e, event.SourceAPI, "req-1")
	if err != nil {
		t.Fatal(err)
	}
	if ack.Topic != "user_events" || ack.Offset != 0 || ack.Partition < 0 || ack.Partition > 2 {
		t.Fatalf("ack = %+v", ack)
	}
	if e.EventID == "" || e.Timestamp.IsZero() {
		t.Fatal("Produce did not fill event_id and timestamp")
	}
	recs := readAll(t, cfg, "user_events", 1)
	r := recs[0]
	if string(r.Key) != "user_007:button_click" {
		t.Errorf("key = %q", r.Key)
	}
	if r.Partition != ack.Partition || r.Offset != ack.Offset {
		t.Errorf("record at %d/%d, ack says %d/%d", r.Partition, r.Offset, ack.Partition, ack.Offset)
	}
	got, err := event.Decode(r.Value)
	if err != nil {
		t.Fatalf("value does not decode: %v", err)
	}
	if got.EventID != e.EventID || got.ElementID != "btn_1" {
		t.Errorf("value = %+v", got)
	}
	if header(r, record.HeaderSource) != "api" || header(r, record.HeaderRequestID) != "req-1" {
		t.Errorf("headers = %v", r.Headers)
	}
	if s := p.Stats(); s.Sent != 1 || s.Acked != 1 || s.Failed != 0 {
		t.Errorf("stats = %+v", s)
	}

	// The client's own metrics are registered with our label.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "pulse_kafka_") {
			for _, l := range mf.GetMetric()[0].GetLabel() {
				found = found || (l.GetName() == "client" && l.GetValue() == "producer")
			}
		}
	}
	if !found {
		t.Error("no pulse_kafka_* metric labelled client=producer")
	}
}

func TestReusedMetricsNameDoesNotPanic(t *testing.T) {
	cfg := startBroker(t, broker.Config{})
	reg := prometheus.NewRegistry()
	a := newProducer(t, cfg, reg)
	b := newProducer(t, cfg, reg)
	for _, p := range []*Producer{a, b} {
		if _, err := p.Produce(testCtx(t), sampleEvent("u"), event.SourceAPI, ""); err != nil {
			t.Fatal(err)
		}
	}
}

func TestProduceRejectsInvalidEvent(t *testing.T) {
	cfg := startBroker(t, broker.Config{})
	p := newProducer(t, cfg, nil)
	_, err := p.Produce(testCtx(t), &event.Event{UserID: "u", EventType: "Bad Type"}, event.SourceAPI, "")
	if !event.IsInvalid(err) {
		t.Fatalf("err = %v, want a validation error", err)
	}
	if s := p.Stats(); s.Sent != 0 {
		t.Errorf("invalid event was sent: %+v", s)
	}
}

func TestProduceBatch(t *testing.T) {
	cfg := startBroker(t, broker.Config{})
	p := newProducer(t, cfg, nil)
	ctx := testCtx(t)

	bad := []*event.Event{sampleEvent("a"), {UserID: "", EventType: "page_view"}}
	err := p.ProduceBatch(ctx, bad, event.SourceAPI, "")
	if !event.IsInvalid(err) || !strings.Contains(err.Error(), "event 1") {
		t.Fatalf("err = %v, want a validation error naming event 1", err)
	}
	if p.Stats().Sent != 0 {
		t.Fatal("a batch with an invalid event sent something")
	}

	var batch []*event.Event
	for i := range 50 {
		batch = append(batch, sampleEvent("user_"+string(rune('a'+i%26))))
	}
	if err := p.ProduceBatch(ctx, batch, event.SourceProducer, "req-b"); err != nil {
		t.Fatal(err)
	}
	if s := p.Stats(); s.Acked != 50 {
		t.Fatalf("stats = %+v", s)
	}
	recs := readAll(t, cfg, "user_events", 50)
	for _, r := range recs {
		if header(r, record.HeaderSource) != "producer" {
			t.Fatalf("header source = %q", header(r, record.HeaderSource))
		}
	}
}

func TestProduceAsyncAndClose(t *testing.T) {
	cfg := startBroker(t, broker.Config{})
	p, err := NewProducer(ProducerConfig{Kafka: cfg.Kafka, Linger: 50 * time.Millisecond}, testLog(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	const n = 200
	results := make(chan error, n)
	for range n {
		p.ProduceAsync(ctx, sampleEvent("u1"), event.SourceProducer, "run-1", func(_ Ack, err error) { results <- err })
	}
	rep := p.Close()
	if rep.Failed != 0 || p.Stats().Acked != n {
		t.Fatalf("close report %+v, stats %+v", rep, p.Stats())
	}
	for range n {
		if err := <-results; err != nil {
			t.Fatal(err)
		}
	}
	if again := p.Close(); again != rep {
		t.Errorf("second Close = %+v, want %+v", again, rep)
	}
	p.ProduceAsync(ctx, sampleEvent("u1"), event.SourceProducer, "run-1", func(_ Ack, err error) { results <- err })
	if err := <-results; !errors.Is(err, ErrProducerClosed) {
		t.Errorf("produce after close: %v", err)
	}
}

func TestProduceToMissingTopicFails(t *testing.T) {
	cfg := startBroker(t, broker.Config{})
	cfg.Kafka.Topic = "no_such_topic"
	p, err := NewProducer(ProducerConfig{Kafka: cfg.Kafka, DeliveryTimeout: 2 * time.Second}, testLog(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Produce(testCtx(t), sampleEvent("u"), event.SourceAPI, ""); err == nil {
		t.Fatal("want an error producing to a missing topic")
	}
	if p.Stats().Failed != 1 {
		t.Errorf("stats = %+v", p.Stats())
	}
}

func TestAdminTopics(t *testing.T) {
	cfg := startBroker(t, broker.Config{Topics: []broker.Topic{}})
	a, err := NewAdmin(cfg.Kafka, testLog(t), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx := testCtx(t)

	if err := a.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]int32{"user_events": 3, "user_events_dlq": 1}
	created, err := a.EnsureTopics(ctx, want, 1)
	if err != nil || len(created) != 2 {
		t.Fatalf("EnsureTopics = %v, %v", created, err)
	}
	created, err = a.EnsureTopics(ctx, want, 1)
	if err != nil || len(created) != 0 {
		t.Fatalf("second EnsureTopics = %v, %v; want nothing created", created, err)
	}
	if err := a.CreateTopic(ctx, "user_events", 3, 1); !errors.Is(err, ErrTopicExists) {
		t.Fatalf("CreateTopic of an existing topic: %v", err)
	}
	topics, err := a.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(topics) != 2 || topics[0] != (TopicInfo{"user_events", 3, 1}) || topics[1].Name != "user_events_dlq" {
		t.Fatalf("ListTopics = %+v", topics)
	}
	if err := a.DeleteTopic(ctx, "user_events_dlq"); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteTopic(ctx, "user_events_dlq"); !errors.Is(err, ErrTopicNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := a.DescribeTopic(ctx, "nope", ""); !errors.Is(err, ErrTopicNotFound) {
		t.Fatalf("describe missing topic: %v", err)
	}
}

func TestDescribeTopicAndGroupLag(t *testing.T) {
	cfg := startBroker(t, broker.Config{})
	ctx := testCtx(t)
	p := newProducer(t, cfg, nil)
	var batch []*event.Event
	for range 30 {
		batch = append(batch, sampleEvent("user_001")) // one key: one partition
	}
	if err := p.ProduceBatch(ctx, batch, event.SourceProducer, ""); err != nil {
		t.Fatal(err)
	}
	a, err := NewAdmin(cfg.Kafka, testLog(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()

	d, err := a.DescribeTopic(ctx, "user_events", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Partitions) != 3 || d.Records != 30 || d.TotalLag != 0 {
		t.Fatalf("describe = %+v", d)
	}
	var part int32 = -1
	for _, pi := range d.Partitions {
		if pi.EndOffset == 30 {
			part = pi.Partition
		}
		if pi.Leader != 0 || len(pi.Replicas) != 1 {
			t.Errorf("partition %+v", pi)
		}
	}
	if part < 0 {
		t.Fatalf("no partition holds the 30 records: %+v", d.Partitions)
	}

	// A group that never committed lags by every record.
	gl, err := a.GroupLag(ctx, "g", "user_events")
	if err != nil {
		t.Fatal(err)
	}
	if gl.TotalLag != 30 || len(gl.Members) != 0 || len(gl.Partitions) != 3 {
		t.Fatalf("lag of an unknown group = %+v", gl)
	}

	// A real member consumes and commits 12 records.
	opts, _ := ClientOpts(cfg.Kafka)
	cons, err := kgo.NewClient(append(opts,
		kgo.ClientID("c1"),
		kgo.ConsumerGroup("g"),
		kgo.ConsumeTopics("user_events"),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	var got int
	for got < 30 {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal("timed out consuming")
		}
		got += fs.NumRecords()
	}
	var commitErr error
	cons.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{"user_events": {part: {Epoch: -1, Offset: 12}}},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, _ *kmsg.OffsetCommitResponse, err error) {
			commitErr = err
		})
	if commitErr != nil {
		t.Fatal(commitErr)
	}

	d, err = a.DescribeTopic(ctx, "user_events", "g")
	if err != nil {
		t.Fatal(err)
	}
	for _, pi := range d.Partitions {
		if pi.Partition == part && (pi.CommittedOffset != 12 || pi.Lag != 18) {
			t.Errorf("partition %d: %+v, want committed 12 lag 18", part, pi)
		}
	}
	if d.TotalLag != 18 {
		t.Errorf("total lag %d, want 18", d.TotalLag)
	}

	gl, err = a.GroupLag(ctx, "g", "user_events")
	if err != nil {
		t.Fatal(err)
	}
	if gl.TotalLag != 18 || gl.State != "Stable" || len(gl.Members) != 1 {
		t.Fatalf("group lag = %+v", gl)
	}
	m := gl.Members[0]
	if m.ClientID != "c1" || len(m.Partitions) != 3 {
		t.Errorf("member = %+v", m)
	}
	for _, pl := range gl.Partitions {
		if pl.Member != "c1" {
			t.Errorf("partition %d owned by %q", pl.Partition, pl.Member)
		}
	}
	js, _ := json.Marshal(gl.Partitions[0])
	if !strings.Contains(string(js), `"committed_offset"`) || !strings.Contains(string(js), `"end_offset"`) {
		t.Errorf("JSON %s lacks the API field names", js)
	}
}

func TestPingFailsFast(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	cfg := config.Default()
	cfg.Kafka.BootstrapServers = addr
	a, err := NewAdmin(cfg.Kafka, testLog(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	start := time.Now()
	if err := a.Ping(context.Background()); err == nil {
		t.Fatal("ping of a closed port succeeded")
	}
	if d := time.Since(start); d > PingTimeout+2*time.Second {
		t.Errorf("ping took %v", d)
	}
}

func TestClientOptsErrors(t *testing.T) {
	cfg := config.Default()
	if _, err := ClientOpts(cfg.Kafka); err == nil {
		t.Error("no bootstrap servers accepted")
	}
	cfg.Kafka.BootstrapServers = "127.0.0.1:9092"
	cfg.Kafka.Security.SASLMechanism = "GSSAPI"
	if _, err := ClientOpts(cfg.Kafka); err == nil {
		t.Error("GSSAPI accepted")
	}
	cfg.Kafka.Security = config.KafkaSecurity{TLSCA: filepath.Join(t.TempDir(), "missing.pem")}
	if _, err := ClientOpts(cfg.Kafka); err == nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Errorf("missing CA: %v", err)
	}
	cfg.Kafka.Security = config.KafkaSecurity{}
	cfg.Kafka.Compression = "brotli"
	if _, err := NewProducer(ProducerConfig{Kafka: cfg.Kafka}, nil, nil); err == nil {
		t.Error("brotli accepted")
	}
}

func TestSASL(t *testing.T) {
	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		t.Run(mech, func(t *testing.T) {
			cfg := startBroker(t, broker.Config{Users: []broker.User{{Mechanism: mech, Name: "alice", Password: "s3cret"}}})
			cfg.Kafka.Security = config.KafkaSecurity{SASLMechanism: mech, SASLUsername: "alice", SASLPassword: "s3cret"}
			p := newProducer(t, cfg, nil)
			if _, err := p.Produce(testCtx(t), sampleEvent("u"), event.SourceAPI, ""); err != nil {
				t.Fatalf("produce with the right password: %v", err)
			}

			cfg.Kafka.Security.SASLPassword = "wrong"
			a, err := NewAdmin(cfg.Kafka, testLog(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if err := a.Ping(testCtx(t)); err == nil {
				t.Fatal("ping with a wrong password succeeded")
			}
		})
	}
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	caPEM, serverCert := selfSigned(t)
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := startBroker(t, broker.Config{TLS: &tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12}})

	cfg.Kafka.Security = config.KafkaSecurity{TLS: true, TLSCA: caFile}
	p := newProducer(t, cfg, nil)
	if _, err := p.Produce(testCtx(t), sampleEvent("u"), event.SourceAPI, ""); err != nil {
		t.Fatalf("produce over TLS: %v", err)
	}

	// Without our CA the certificate is not trusted.
	cfg.Kafka.Security = config.KafkaSecurity{TLS: true}
	a, err := NewAdmin(cfg.Kafka, testLog(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Ping(testCtx(t)); err == nil {
		t.Fatal("TLS without the CA succeeded")
	}
}

// selfSigned makes a certificate for 127.0.0.1 that is its own CA.
func selfSigned(t *testing.T) ([]byte, tls.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "pulse test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, cert
}
