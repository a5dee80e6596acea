package main

import (
	"bufio"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/broker"
	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/kafka"
	"github.com/pulse-dev/pulse/test/pulsetest"
)

// pulse runs the command line in-process and returns its exit status and
// output.
func pulse(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut pulsetest.Buffer
	code = run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func startBroker(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := broker.Start(ctx, broker.Config{
		Addr:    "127.0.0.1:0",
		DataDir: t.TempDir(),
		Topics:  []broker.Topic{{Name: "user_events", Partitions: 3}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b.Addr()
}

func describe(t *testing.T, addr, topic string) kafka.TopicDescription {
	t.Helper()
	cfg := config.Default()
	cfg.Kafka.BootstrapServers = addr
	a, err := kafka.NewAdmin(cfg.Kafka, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := a.DescribeTopic(ctx, topic, "")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestHelp(t *testing.T) {
	code, out, _ := pulse(t, "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, c := range []string{"serve", "produce", "consume", "topics", "broker", "version"} {
		if !strings.Contains(out, "  "+c+" ") {
			t.Errorf("help lacks command %s:\n%s", c, out)
		}
	}
	tests := []struct {
		cmd  string
		want []string
	}{
		{"produce", []string{`--batch-size int`, `(default "100")`, `--duration value`, `(default "1m0s")`,
			`(default "127.0.0.1:9092"; env KAFKA_BOOTSTRAP_SERVERS)`, `(default "snappy"; env KAFKA_COMPRESSION)`}},
		{"topics", []string{`--partitions int`, `(default "3"; env KAFKA_PARTITIONS)`, `(default "dashboard_consumer_group"; env KAFKA_CONSUMER_GROUP)`}},
		{"broker", []string{`--broker-addr string`, `(default "127.0.0.1:9092"; env PULSE_BROKER_ADDR)`, `--addr string`, `(default "./data"; env PULSE_DATA_DIR)`}},
		{"serve", []string{`--oidc-issuer string`, `env PULSE_OIDC_ISSUER`, `--oidc-client-secret string`, `(default "groups"; env PULSE_OIDC_ROLES_CLAIM)`,
			`--oidc-role-map string`, `(default "openid,email,profile"; env PULSE_OIDC_SCOPES)`}},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			code, _, help := pulse(t, tt.cmd, "--help")
			if code != 0 {
				t.Fatalf("exit %d", code)
			}
			for _, w := range tt.want {
				if !strings.Contains(help, w) {
					t.Errorf("help lacks %q:\n%s", w, help)
				}
			}
		})
	}
}

func TestExitStatus(t *testing.T) {
	tests := []struct {
		args []string
		code int
	}{
		{nil, 2},
		{[]string{"frobnicate"}, 2},
		{[]string{"produce", "--no-such-flag"}, 2},
		{[]string{"produce", "--dry-run", "--mode", "sideways"}, 2},
		{[]string{"produce", "--dry-run", "--failure-rate", "2"}, 2},
		{[]string{"produce", "--dry-run", "--history", "a fortnight"}, 2},
		{[]string{"produce", "--dry-run", "--history", "-2d"}, 2},
		{[]string{"produce", "--dry-run", "--history", "400d"}, 2},
		{[]string{"produce", "--dry-run", "--history", "1d", "--history-events", "0"}, 2},
		{[]string{"topics", "--bootstrap-servers", "127.0.0.1:1", "explode"}, 2},
		{[]string{"produce", "--dry-run", "--topic", "bad topic"}, 1},
	}
	for _, tt := range tests {
		if code, _, stderr := pulse(t, tt.args...); code != tt.code {
			t.Errorf("pulse %q: exit %d, want %d\n%s", tt.args, code, tt.code, stderr)
		}
	}
}

// TestOIDCSettingsChecked: serve refuses an OpenID issuer without the
// settings it needs, naming each, before it starts anything.
func TestOIDCSettingsChecked(t *testing.T) {
	code, _, stderr := pulse(t, "serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--oidc-issuer", "https://sso.example.com")
	for _, want := range []string{"--oidc-client-id", "--oidc-redirect-url", "--oidc-role-map"} {
		if code != 1 || !strings.Contains(stderr, "--oidc-issuer needs "+want) {
			t.Errorf("exit %d, want 1 naming %s:\n%s", code, want, stderr)
		}
	}
}

// TestBadAlertsAllowNetRefused: serve refuses an --alerts-allow-net entry
// that is not a CIDR, naming the setting and the entry, before it starts
// anything; the variable is read as the flag is.
func TestBadAlertsAllowNetRefused(t *testing.T) {
	code, _, stderr := pulse(t, "serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--alerts-allow-net", "127.0.0.1/32,10.0.0/8")
	if code != 1 || !strings.Contains(stderr, `--alerts-allow-net entry "10.0.0/8" is not a CIDR`) {
		t.Errorf("exit %d, want 1 naming --alerts-allow-net and the bad entry:\n%s", code, stderr)
	}
	t.Setenv("PULSE_ALERTS_ALLOW_NET", "intranet")
	code, _, stderr = pulse(t, "serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir())
	if code != 1 || !strings.Contains(stderr, `--alerts-allow-net entry "intranet" is not a CIDR`) {
		t.Errorf("from PULSE_ALERTS_ALLOW_NET: exit %d, want 1 naming the setting and the bad entry:\n%s", code, stderr)
	}
}

// TestBrokerBeyondLoopbackRefused: --broker-addr 0.0.0.0 used to expose
// the embedded broker without authentication and advertise an address
// no remote client can use.
func TestBrokerBeyondLoopbackRefused(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--addr", "127.0.0.1:0", "--broker-addr", "0.0.0.0:0", "--data-dir", t.TempDir()},
		{"broker", "--addr", "0.0.0.0:0", "--data-dir", t.TempDir()},
	} {
		code, _, stderr := pulse(t, args...)
		if code != 1 || !strings.Contains(stderr, "--broker-advertised-addr") || !strings.Contains(stderr, "--kafka-sasl-mechanism") {
			t.Errorf("pulse %q: exit %d, want 1 naming --broker-advertised-addr and --kafka-sasl-mechanism:\n%s", args, code, stderr)
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := pulse(t, "version")
	if code != 0 || !regexp.MustCompile(`(?s)^pulse \S+\ncommit \S+\ngo1\.\d+`).MatchString(out) {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
}

func TestProduceDryRun(t *testing.T) {
	code, out, stderr := pulse(t, "produce", "--dry-run", "--mode", "batch", "--batch-size", "5")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	n := 0
	for sc.Scan() {
		e, err := event.Decode(sc.Bytes())
		if err != nil {
			t.Fatalf("line %d is not a valid event: %v\n%s", n+1, err, sc.Text())
		}
		if e.EventID == "" || e.Timestamp.IsZero() {
			t.Errorf("line %d lacks event_id or timestamp", n+1)
		}
		n++
	}
	if n != 5 {
		t.Fatalf("%d events printed, want 5:\n%s", n, out)
	}
	if !strings.Contains(stderr, "summary: sent 5, printed 5, failed 0") {
		t.Errorf("summary missing:\n%s", stderr)
	}
}

// --history sends its backfill first: --history-events events, their
// times spread over the days before now, oldest first, then the mode's.
func TestProduceHistory(t *testing.T) {
	before := time.Now()
	code, out, stderr := pulse(t, "produce", "--dry-run", "--mode", "batch", "--batch-size", "3",
		"--history", "2d", "--history-events", "400", "--seed", "4")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var times []time.Time
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		e, err := event.Decode(sc.Bytes())
		if err != nil {
			t.Fatalf("line %d: %v", len(times)+1, err)
		}
		times = append(times, e.Timestamp)
	}
	if len(times) != 403 {
		t.Fatalf("%d events, want 400 of history and 3", len(times))
	}
	from := before.Add(-48 * time.Hour)
	for i, at := range times[:400] {
		if at.Before(from.Add(-time.Second)) || at.After(time.Now()) || (i > 0 && at.Before(times[i-1])) {
			t.Fatalf("history event %d at %v: want within the 2 days before %v, in order", i, at, before)
		}
	}
	if times[0].After(from.Add(time.Minute)) || times[399].Before(before.Add(-10*time.Minute)) {
		t.Errorf("history from %v to %v: want it to span the 2 days", times[0], times[399])
	}
	if !times[400].After(times[399]) {
		t.Errorf("the mode's events (%v) come after the history (%v)", times[400], times[399])
	}
}

func TestProduceToBroker(t *testing.T) {
	addr := startBroker(t)

	code, _, stderr := pulse(t, "produce", "--bootstrap-servers", addr, "--mode", "batch", "--batch-size", "120", "--failure-rate", "0.1")
	if code != 0 {
		t.Fatalf("batch: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "summary: sent 120, acknowledged 120, failed 0") {
		t.Errorf("summary missing:\n%s", stderr)
	}
	if d := describe(t, addr, "user_events"); d.Records != 120 {
		t.Fatalf("topic holds %d records, want 120", d.Records)
	}

	// Paced: 400 events/s for half a second is exactly 200 events.
	code, _, stderr = pulse(t, "produce", "--bootstrap-servers", addr, "--mode", "continuous", "--events-per-second", "400", "--duration", "0.5")
	if code != 0 {
		t.Fatalf("continuous: exit %d\n%s", code, stderr)
	}
	if d := describe(t, addr, "user_events"); d.Records != 320 {
		t.Fatalf("topic holds %d records, want 320", d.Records)
	}

	// Interval mode: one at once, then one per interval.
	code, _, stderr = pulse(t, "produce", "--bootstrap-servers", addr, "--interval", "0.1", "--duration", "0.35")
	if code != 0 {
		t.Fatalf("interval: exit %d\n%s", code, stderr)
	}
	if d := describe(t, addr, "user_events"); d.Records < 321 || d.Records > 325 {
		t.Fatalf("topic holds %d records, want 320 + about 4", d.Records)
	}
}

func TestProduceFailureExitsNonZero(t *testing.T) {
	addr := startBroker(t)
	code, _, stderr := pulse(t, "produce", "--bootstrap-servers", addr, "--topic", "missing_topic", "--mode", "batch", "--batch-size", "3")
	if code != 1 || !strings.Contains(stderr, "failed 3") {
		t.Fatalf("exit %d, want 1 with 3 failed:\n%s", code, stderr)
	}
}

func TestProduceWithoutBrokerFailsFast(t *testing.T) {
	code, _, stderr := pulse(t, "produce", "--bootstrap-servers", "127.0.0.1:1", "--mode", "batch", "--batch-size", "1")
	if code != 1 || !strings.Contains(stderr, "cannot reach Kafka at 127.0.0.1:1") {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
}

func TestProduceStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut pulsetest.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"produce", "--dry-run", "--continuous", "--interval", "0.05"}, &out, &errOut)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(out.String(), "\n") < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no events printed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(errOut.String(), "summary: sent") {
			t.Fatalf("exit %d:\n%s", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("produce did not stop after cancel")
	}
}

func TestTopicsRoundTrip(t *testing.T) {
	addr := startBroker(t)
	bs := []string{"--bootstrap-servers", addr}

	code, out, stderr := pulse(t, append([]string{"topics", "create", "--topic", "orders", "--partitions", "2"}, bs...)...)
	if code != 0 || !strings.Contains(out, "created topic orders (2 partitions") {
		t.Fatalf("create: exit %d\n%s%s", code, out, stderr)
	}
	if code, _, _ := pulse(t, append([]string{"topics", "create", "--topic", "orders"}, bs...)...); code != 1 {
		t.Errorf("second create: exit %d, want 1", code)
	}
	if code, _, _ := pulse(t, append([]string{"topics", "create", "--topic", "orders", "--if-not-exists"}, bs...)...); code != 0 {
		t.Errorf("create --if-not-exists: exit %d, want 0", code)
	}

	code, out, _ = pulse(t, append([]string{"topics", "list"}, bs...)...)
	if code != 0 || !regexp.MustCompile(`(?m)^orders\s+2\s+1$`).MatchString(out) || !strings.Contains(out, "user_events") {
		t.Fatalf("list: exit %d\n%s", code, out)
	}

	code, out, _ = pulse(t, append([]string{"produce", "--mode", "batch", "--batch-size", "7", "--topic", "orders"}, bs...)...)
	if code != 0 {
		t.Fatalf("produce: exit %d\n%s", code, out)
	}
	// The seed's --action spelling works too.
	code, out, stderr = pulse(t, append([]string{"topics", "--action", "describe", "--topic", "orders", "--consumer-group", "g"}, bs...)...)
	if code != 0 {
		t.Fatalf("describe: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(out, "topic orders: 2 partitions, 7 records; group g lags by 7") ||
		!regexp.MustCompile(`(?m)^\s+1\s+0\s+0\s+0\s+0\s+\d+\s+-\s+\d+$`).MatchString(out) {
		t.Fatalf("describe output:\n%s", out)
	}

	code, out, _ = pulse(t, append([]string{"topics", "delete", "--topic", "orders"}, bs...)...)
	if code != 0 || !strings.Contains(out, "deleted topic orders") {
		t.Fatalf("delete: exit %d\n%s", code, out)
	}
	if code, _, stderr := pulse(t, append([]string{"topics", "describe", "--topic", "orders"}, bs...)...); code != 1 || !strings.Contains(stderr, "topic not found") {
		t.Fatalf("describe after delete: exit %d\n%s", code, stderr)
	}
	if code, _, _ := pulse(t, append([]string{"topics", "delete", "--topic", "orders", "--if-exists"}, bs...)...); code != 0 {
		t.Errorf("delete --if-exists: exit %d", code)
	}
}

func TestBrokerCommand(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut pulsetest.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"broker", "--addr", "127.0.0.1:0", "--data-dir", dir, "--log-format", "json"}, &out, &errOut)
	}()
	re := regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)
	deadline := time.Now().Add(15 * time.Second)
	var m []string
	for m == nil {
		if time.Now().After(deadline) {
			t.Fatalf("broker did not start:\n%s%s", out.String(), errOut.String())
		}
		m = re.FindStringSubmatch(out.String())
		if m == nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
	addr := m[1]
	d := describe(t, addr, "user_events")
	if len(d.Partitions) != 3 {
		t.Errorf("user_events has %d partitions", len(d.Partitions))
	}
	if d := describe(t, addr, "user_events_dlq"); len(d.Partitions) != 3 {
		t.Errorf("user_events_dlq has %d partitions", len(d.Partitions))
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(out.String(), "embedded broker stopped") {
			t.Fatalf("exit %d:\n%s", code, out.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("broker did not stop")
	}
	if !strings.Contains(errOut.String(), `"component":"broker"`) {
		t.Errorf("no JSON broker log:\n%s", errOut.String())
	}
}

func TestSecondsFlag(t *testing.T) {
	for in, want := range map[string]time.Duration{"60": time.Minute, "0.5": 500 * time.Millisecond, "1m30s": 90 * time.Second} {
		var s seconds
		if err := s.Set(in); err != nil || time.Duration(s) != want {
			t.Errorf("Set(%q) = %v, %v; want %v", in, time.Duration(s), err, want)
		}
	}
	var s seconds
	if s.Set("soon") == nil {
		t.Error("Set(soon) accepted")
	}
}
