package adversarial

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/test/pulsetest"
)

// python is Debian's interpreter, for which python3-confluent-kafka is
// installed; not whatever python3 comes first in PATH.
const python = "/usr/bin/python3"

// kafkaCase is one record (or a few identical ones) from a client we did
// not write, and its fate: stored exactly once in events (rows for the
// case's user_id), or exactly one dead letter with its reason, never both.
type kafkaCase struct {
	name   string
	client string // "kcat" or "python"
	codec  string // none, gzip, snappy, lz4, zstd
	// key is the record key; nullKey sends none. value is the record
	// value; tombstone sends a null value (python only).
	key       string
	nullKey   bool
	value     []byte
	tombstone bool
	headers   [][2]string
	copies    int    // records sent (default 1)
	txn       string // python: "commit" or "abort"
	partition int32  // python: the partition, when pin is set
	pin       bool
	tsMillis  int64 // python: the record's Kafka timestamp

	// user is the user_id of the stored rows ("" for a record without
	// one); rows is how many (default 1 for a valid record, 0 for a dead
	// letter); eventID is the event_id the row must carry.
	user    string
	rows    int
	eventID string
	// dlq is what the dead letter's dlq_error must contain; "" when none
	// is expected. attempts is its dlq_attempts (default 1).
	dlq      string
	attempts string
	// source, requestID and ts are what the stored row must say (source
	// defaults to kafka; ts, in microseconds, is checked when set).
	source    string
	requestID *string
	ts        int64
	// tsBounded is for a record without timestamp whose Kafka timestamp
	// lies outside the accepted range: either it is stored with a
	// timestamp inside the range, or it has one dead letter naming
	// timestamp.
	tsBounded bool
	// known names a bug main has today (see verdict).
	known string
}

// kev is a valid event JSON for user u with more members.
func kev(u string, more ...string) []byte {
	return []byte(obj(append([]string{`"user_id":"` + u + `"`, `"event_type":"page_view"`, `"element_id":"el-` + u + `"`}, more...)...))
}

// kpadded is a valid event of exactly n bytes for user u.
func kpadded(u string, n int) []byte {
	head, end := `{"user_id":"`+u+`","event_type":"page_view","element_id":"el-`+u+`"`, `}`
	return []byte(head + strings.Repeat(" ", n-len(head)-len(end)) + end)
}

func strp(s string) *string { return &s }

func kafkaCorpus() []kafkaCase {
	codecs := []string{"none", "gzip", "snappy", "lz4", "zstd"}
	var cs []kafkaCase
	for _, client := range []string{"kcat", "python"} {
		for _, c := range codecs {
			u := "k-" + client + "-" + c
			cs = append(cs, kafkaCase{name: client + " " + c, client: client, codec: c, key: u + ":page_view",
				value: kev(u, `"properties":{"codec":"`+c+`","n":[1,2.5,"x"]}`, `"message":"`+strings.Repeat(c+" ", 50)+`"`), user: u})
		}
	}
	garbage := func(name string) []byte {
		return append([]byte("\x00\xff\xfe\x01 garbage "+name+" "), bytes.Repeat([]byte{0x9c, 0x00}, 64)...)
	}
	cs = append(cs,
		// kcat
		kafkaCase{name: "kcat null key", client: "kcat", codec: "snappy", nullKey: true, value: kev("k-nullkey"), user: "k-nullkey"},
		kafkaCase{name: "kcat key not user:type", client: "kcat", codec: "lz4", key: "any key / with spaces; DROP TABLE", value: kev("k-oddkey"), user: "k-oddkey"},
		kafkaCase{name: "kcat own event_id", client: "kcat", codec: "gzip", key: "k-ownid", value: kev("k-ownid", `"event_id":"adv-kcat-own-1"`), user: "k-ownid", eventID: "adv-kcat-own-1"},
		kafkaCase{name: "kcat same record twice with its event_id", client: "kcat", codec: "zstd", key: "k-twice", value: kev("k-twice", `"event_id":"adv-kcat-twice-1"`), copies: 2, user: "k-twice", eventID: "adv-kcat-twice-1"},
		kafkaCase{name: "kcat same content twice without event_id is two records", client: "kcat", codec: "none", key: "k-twice-noid", value: kev("k-twice-noid"), copies: 2, user: "k-twice-noid", rows: 2},
		kafkaCase{name: "kcat invalid JSON", client: "kcat", codec: "gzip", key: "k-badjson", value: []byte(`{"user_id": "k-badjson", "event_type": `), dlq: "invalid JSON"},
		kafkaCase{name: "kcat binary garbage", client: "kcat", codec: "snappy", key: "k-garbage", value: garbage("kcat"), dlq: "invalid JSON: expected an object"},
		kafkaCase{name: "kcat event_type missing", client: "kcat", codec: "lz4", key: "k-notype", value: []byte(`{"user_id":"k-notype"}`), dlq: "event_type: is required"},
		kafkaCase{name: "kcat headers source=api and request_id", client: "kcat", codec: "zstd", key: "k-hdr", value: kev("k-hdr"),
			headers: [][2]string{{"source", "api"}, {"request_id", "adv-req-1"}}, user: "k-hdr", source: "api", requestID: strp("adv-req-1")},
		kafkaCase{name: "kcat source header junk", client: "kcat", codec: "none", key: "k-srcjunk", value: kev("k-srcjunk"),
			headers: [][2]string{{"source", "<script>alert(1)</script>\x1b[31m"}}, user: "k-srcjunk"},
		kafkaCase{name: "kcat duplicate header keys", client: "kcat", codec: "gzip", key: "k-duphdr", value: kev("k-duphdr"),
			headers: [][2]string{{"x-trace", "1"}, {"x-trace", "2"}, {"request_id", "adv-a"}, {"request_id", "adv-b"}}, user: "k-duphdr"},
		kafkaCase{name: "kcat timestamp year 10000 after UTC conversion", client: "kcat", codec: "snappy", key: "k-y10k",
			value: kev("k-y10k", `"timestamp":"9999-12-31T23:59:59-23:59"`), user: "k-y10k", dlq: "timestamp: is 10000-01-01T23:58:59Z in UTC, outside the accepted range"},
		kafkaCase{name: "kcat record of exactly 64 KiB", client: "kcat", codec: "lz4", key: "k-64k", value: kpadded("k-64k", 64<<10), user: "k-64k"},
		kafkaCase{name: "kcat record of 64 KiB + 1", client: "kcat", codec: "zstd", key: "k-64k1", value: kpadded("k-64k1", 64<<10+1), user: "k-64k1", dlq: "event is 65537 bytes, over the limit of 65536"},
		kafkaCase{name: "kcat record of 900 KiB", client: "kcat", codec: "none", key: "k-900k", value: kpadded("k-900k", 900<<10), user: "k-900k", dlq: "event is 921600 bytes, over the limit of 65536"},
		kafkaCase{name: "kcat should_fail", client: "kcat", codec: "gzip", key: "k-fail", value: kev("k-fail", `"should_fail":true`), user: "k-fail", dlq: "simulated failure", attempts: "4"},

		// python
		kafkaCase{name: "python tombstone with a null key", client: "python", codec: "none", nullKey: true, tombstone: true, dlq: "invalid JSON: expected an object"},
		kafkaCase{name: "python empty value", client: "python", codec: "gzip", key: "p-empty", value: []byte{}, dlq: "invalid JSON: expected an object"},
		kafkaCase{name: "python request_id header with control characters", client: "python", codec: "snappy", key: "p-rid", value: kev("p-rid"),
			headers: [][2]string{{"request_id", "rid\x00\x1b[2J\r\nforged log line"}}, user: "p-rid", requestID: strp("")},
		kafkaCase{name: "python source header of invalid UTF-8", client: "python", codec: "lz4", key: "p-srcjunk", value: kev("p-srcjunk"),
			headers: [][2]string{{"source", "\xff\xfe\x00api"}}, user: "p-srcjunk"},
		kafkaCase{name: "python duplicate source headers", client: "python", codec: "zstd", key: "p-dupsrc", value: kev("p-dupsrc"),
			headers: [][2]string{{"source", "producer"}, {"source", "\x00"}, {"request_id", "adv-c"}, {"request_id", "adv-d"}}, user: "p-dupsrc", source: "producer"},
		kafkaCase{name: "python binary key", client: "python", codec: "none", key: "\x00\xff\xfe binary", value: kev("p-binkey"), user: "p-binkey"},
		kafkaCase{name: "python own event_id twice", client: "python", codec: "snappy", key: "p-twice", value: kev("p-twice", `"event_id":"adv-py-twice-1"`), copies: 2, user: "p-twice", eventID: "adv-py-twice-1"},
		kafkaCase{name: "python no timestamp takes the record's", client: "python", codec: "gzip", key: "p-ts", value: kev("p-ts"), tsMillis: 1700000000000, user: "p-ts", ts: 1700000000000000},
		kafkaCase{name: "python Kafka timestamp in year 10000 and none in the event", client: "python", codec: "gzip", key: "p-kts-y10k", value: kev("p-kts-y10k"),
			tsMillis: time.Date(10000, 1, 2, 0, 0, 0, 0, time.UTC).UnixMilli(), user: "p-kts-y10k", tsBounded: true},
		kafkaCase{name: "python Kafka timestamp before 1970 and none in the event", client: "python", codec: "snappy", key: "p-kts-1969", value: kev("p-kts-1969"),
			tsMillis: -86400000, user: "p-kts-1969", tsBounded: true},
		kafkaCase{name: "python event_id of 129 bytes", client: "python", codec: "lz4", key: "p-longid", value: kev("p-longid", `"event_id":"`+strings.Repeat("i", 129)+`"`), user: "p-longid", dlq: "event_id: is 129 bytes, over the limit of 128"},
		kafkaCase{name: "python event_id with a right-to-left override", client: "python", codec: "zstd", key: "p-bidiid", value: kev("p-bidiid", `"event_id":"adv-\u202e1"`), user: "p-bidiid", dlq: "event_id: contains invisible format character U+202E"},
		kafkaCase{name: "python bidi in user_id", client: "python", codec: "lz4", key: "p-bidi", value: []byte(`{"user_id":"p-bidi\u202eevil","event_type":"page_view"}`), dlq: "user_id: contains invisible format character U+202E"},
		kafkaCase{name: "python zero-width space in element_id", client: "python", codec: "zstd", key: "p-zw", value: kev("p-zw", `"session_id":"s\u200b"`), user: "p-zw", dlq: "session_id: contains invisible format character U+200B"},
		kafkaCase{name: "python 1e400 in properties", client: "python", codec: "none", key: "p-1e400", value: kev("p-1e400", `"properties":{"n":1e400}`), user: "p-1e400", dlq: "properties: /n is 1e400, beyond the range of a 64-bit float"},
		kafkaCase{name: "python zero timestamp", client: "python", codec: "gzip", key: "p-zero", value: kev("p-zero", `"timestamp":"0001-01-01T00:00:00Z"`), user: "p-zero", dlq: "timestamp: is 0001-01-01T00:00:00Z in UTC, outside the accepted range"},
		kafkaCase{name: "python timestamp before 1970", client: "python", codec: "snappy", key: "p-1969", value: kev("p-1969", `"timestamp":"1969-07-20T20:17:40Z"`), user: "p-1969", dlq: "timestamp: is 1969-07-20T20:17:40Z in UTC, outside the accepted range"},
		kafkaCase{name: "python properties not an object", client: "python", codec: "lz4", key: "p-props", value: kev("p-props", `"properties":[1,2]`), user: "p-props", dlq: "properties: must be a JSON object"},
		kafkaCase{name: "python properties too deep", client: "python", codec: "zstd", key: "p-deep", value: kev("p-deep", `"properties":`+nest(9)), user: "p-deep", dlq: "properties: nests 9 levels deep, over the limit of 8"},
		kafkaCase{name: "python delay_seconds 31", client: "python", codec: "none", key: "p-delay", value: kev("p-delay", `"delay_seconds":31`), user: "p-delay", dlq: "delay_seconds: must be between 0 and 30"},
		kafkaCase{name: "python bad event_type", client: "python", codec: "gzip", key: "p-type", value: []byte(`{"user_id":"p-type","event_type":"Page View!"}`), dlq: "event_type: must match"},
		kafkaCase{name: "python user_id twice", client: "python", codec: "snappy", key: "p-dup", value: []byte(`{"user_id":"p-dup","user_id":"p-dup2","event_type":"page_view"}`), dlq: "user_id: appears more than once"},
		kafkaCase{name: "python invalid UTF-8 in user_id", client: "python", codec: "lz4", key: "p-utf8", value: []byte("{\"user_id\":\"p-utf8\xff\",\"event_type\":\"page_view\"}"), dlq: "user_id: is not valid UTF-8"},
		kafkaCase{name: "python user_id a number", client: "python", codec: "zstd", key: "p-num", value: []byte(`{"user_id":42,"event_type":"page_view","element_id":"p-num"}`), dlq: "user_id: must be a string, not number"},
		kafkaCase{name: "python JSON array", client: "python", codec: "none", key: "p-array", value: []byte(`[{"user_id":"p-array","event_type":"page_view"}]`), dlq: "invalid JSON: expected an object"},
		kafkaCase{name: "python binary garbage", client: "python", codec: "gzip", nullKey: true, value: garbage("python"), dlq: "invalid JSON: expected an object"},
		kafkaCase{name: "python record of 900 KiB", client: "python", codec: "zstd", key: "p-900k", value: kpadded("p-900k", 900<<10), user: "p-900k", dlq: "event is 921600 bytes, over the limit of 65536"},
		kafkaCase{name: "python every field", client: "python", codec: "lz4", key: "p-all", value: kev("p-all", `"event_id":"adv-py-all-1"`, `"session_id":"s-1"`, `"page":"/checkout?step=2"`,
			`"message":"line1\nline2\t\u202e"`, `"timestamp":"2024-01-15T10:30:00+01:00"`, `"properties":{"price":12.5,"tags":["a","b"],"tiny":1e-400}`, `"delay_seconds":0.1`, `"should_fail":false`),
			user: "p-all", eventID: "adv-py-all-1", ts: time.Date(2024, 1, 15, 9, 30, 0, 0, time.UTC).UnixMicro()},
	)
	return cs
}

// txnCases are produced after the others, in this order, to partition 0:
// an aborted transaction, a committed one, and a plain record whose
// storage shows the consumer went past both.
func txnCases() []kafkaCase {
	return []kafkaCase{
		{name: "python aborted transaction", client: "python", codec: "zstd", key: "p-txn-abort", value: kev("p-txn-abort"), copies: 2, txn: "abort", pin: true, rows: 0, user: "p-txn-abort"},
		{name: "python committed transaction", client: "python", codec: "snappy", key: "p-txn-commit", value: kev("p-txn-commit"), copies: 2, txn: "commit", pin: true, user: "p-txn-commit", rows: 2},
		{name: "python plain record after the transactions", client: "python", codec: "none", key: "p-after-txn", value: kev("p-after-txn"), pin: true, user: "p-after-txn"},
	}
}

// TestKafkaCorpus produces every case with kcat or confluent-kafka to the
// embedded broker of a real `pulse serve`, waits for the consumer group to
// catch up, and checks each record's fate; then that nothing else was
// stored or dead-lettered, the group's lag is 0 and health is 200.
func TestKafkaCorpus(t *testing.T) {
	t.Parallel()
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatalf("kcat is not installed: install Debian's kcat package (apt-get install kcat): %v", err)
	}
	if out, err := exec.Command(python, "-c", "import confluent_kafka").CombinedOutput(); err != nil {
		t.Fatalf("%s cannot import confluent_kafka: install Debian's python3-confluent-kafka package (apt-get install python3-confluent-kafka): %v\n%s", python, err, out)
	}
	s := startServe(t)
	ctx := pulsetest.Context(t, 3*time.Minute)
	const topic, dlqTopic, group = "user_events", "user_events_dlq", "dashboard_consumer_group"
	_, adm := s.kafka(t)
	db := s.db(t)

	cases := kafkaCorpus()
	txns := txnCases()
	all := append(append([]kafkaCase(nil), cases...), txns...)
	// Three more cases run last, on their own: a record claiming a
	// derived id, a committed transaction that ends a partition and a
	// record with 1 MiB of headers.
	t.Logf("%d Kafka cases (%d from kcat, %d from confluent-kafka)", len(all)+3, countClient(all, "kcat"), countClient(all, "python")+3)

	// Produce: kcat one invocation per case, python one run for all.
	start := time.Now()
	offsets := map[string][]kgo.Record{} // case name → where its records went (python only)
	var py []kafkaCase
	var wg sync.WaitGroup
	kcatErrs := make([]error, len(cases))
	for i, c := range cases {
		if c.client != "kcat" {
			py = append(py, c)
			continue
		}
		dir := t.TempDir()
		wg.Go(func() { kcatErrs[i] = produceKcat(kcat, dir, s.broker, topic, c) })
	}
	for name, recs := range producePython(t, s.broker, topic, py) {
		offsets[name] = recs
	}
	wg.Wait()
	if err := errors.Join(kcatErrs...); err != nil {
		t.Fatal(err)
	}
	for name, recs := range producePython(t, s.broker, topic, txns) {
		offsets[name] = recs
	}
	t.Logf("produced in %v", time.Since(start).Round(time.Millisecond))
	sentinel := offsets[txns[2].name][0]

	// Wait until the group has committed every partition to its end:
	// the pipeline commits an offset only once every record below it is
	// stored or acknowledged by the DLQ, so then every case has its
	// outcome. Partition 0 ends with a plain record after the
	// transactions, so this holds there too.
	var dlq []*kgo.Record
	pulsetest.WaitFor(t, 60*time.Second, "the consumer group at the end of every partition", func() error {
		lag, err := groupLag(ctx, adm, group, topic)
		if err != nil {
			return err
		}
		if l := totalLag(lag); l != 0 || lag[sentinel.Partition] != 0 {
			return fmt.Errorf("lag %v", lag)
		}
		return nil
	})
	dlq, err = readTopic(ctx, adm, s.broker, dlqTopic)
	if err != nil {
		t.Fatalf("read the DLQ: %v", err)
	}
	t.Logf("every case settled %v after the first record", time.Since(start).Round(time.Millisecond))

	matched := map[string]string{} // partition/offset of a dead letter → its case
	for _, c := range all {
		t.Run(c.name, func(t *testing.T) {
			var problems []string
			for _, d := range deadLetters(c, dlq, offsets[c.name]) {
				at := fmt.Sprintf("%d/%d", d.Partition, d.Offset)
				if other, ok := matched[at]; ok {
					problems = append(problems, fmt.Sprintf("dead letter %s is also %s's", at, other))
				}
				matched[at] = c.name
			}
			problems = append(problems, c.check(db, dlq, offsets[c.name])...)
			verdict(t, c.known, problems)
		})
	}
	// A record claims, as its own event_id, the id the pipeline will derive
	// for a record without one that comes later: both must be stored.
	t.Run("python event_id claiming the derived id of a later record", func(t *testing.T) {
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		next, _ := ends.Lookup(topic, 0)
		claim := kafkaCase{name: "claim", client: "python", codec: "none", key: "p-claim", partition: 1, pin: true, user: "p-claim",
			value: kev("p-claim", `"event_id":"`+event.DerivedID(topic, 0, next.Offset)+`"`)}
		victim := kafkaCase{name: "victim", client: "python", codec: "none", key: "p-victim", partition: 0, pin: true, user: "p-victim", value: kev("p-victim")}
		offsets[claim.user] = producePython(t, s.broker, topic, []kafkaCase{claim})[claim.name]
		pulsetest.WaitFor(t, 30*time.Second, "the claiming record processed", func() error {
			lag, err := groupLag(ctx, adm, group, topic)
			if err != nil {
				return err
			}
			if lag[1] != 0 {
				return fmt.Errorf("lag %v", lag)
			}
			return nil
		})
		at := producePython(t, s.broker, topic, []kafkaCase{victim})[victim.name]
		if at[0].Offset != next.Offset {
			t.Fatalf("the later record went to offset %d, not %d", at[0].Offset, next.Offset)
		}
		pulsetest.WaitFor(t, 30*time.Second, "the group past the later record", func() error {
			lag, err := groupLag(ctx, adm, group, topic)
			if err != nil {
				return err
			}
			if lag[0] != 0 {
				return fmt.Errorf("lag %v", lag)
			}
			return nil
		})
		// The victim is stored; the claim is stored too, or refused (a
		// dead letter naming event_id) if derived ids become a namespace
		// a record may not use.
		var problems []string
		for _, p := range victim.check(db, nil, nil) {
			problems = append(problems, "the later record without event_id: "+p)
		}
		d, err := readTopic(ctx, adm, s.broker, dlqTopic)
		if err != nil {
			t.Fatal(err)
		}
		refused := claim
		refused.dlq = "event_id"
		if claimed := claim.check(db, d, offsets[claim.user]); len(claimed) > 0 {
			if other := refused.check(db, d, offsets[claim.user]); len(other) > 0 {
				problems = append(problems, "the claiming record: "+strings.Join(claimed, "; ")+", and not refused either: "+strings.Join(other, "; "))
			}
		}
		verdict(t, "", problems)
	})

	// A committed transaction that ends a partition: its records are
	// stored, and the group's lag must come back to 0 past its commit
	// marker.
	t.Run("python committed transaction ending a partition", func(t *testing.T) {
		c := kafkaCase{name: "python committed transaction ending a partition", client: "python", codec: "gzip", key: "p-txn-last",
			value: kev("p-txn-last"), txn: "commit", partition: 1, pin: true, user: "p-txn-last"}
		recs := producePython(t, s.broker, topic, []kafkaCase{c})[c.name]
		pulsetest.WaitFor(t, 30*time.Second, "the committed record stored", func() error {
			if countRows(t, db, "SELECT COUNT(*) FROM events WHERE user_id = ?", c.user) == 0 {
				return errors.New("not stored")
			}
			return nil
		})
		if problems := c.check(db, dlq, recs); len(problems) > 0 {
			t.Error(strings.Join(problems, "\n"))
		}
		// The pipeline commits every interval (500 ms); give it several.
		var problems []string
		deadline := time.Now().Add(5 * time.Second)
		var lag map[int32]int64
		for {
			var err error
			if lag, err = groupLag(ctx, adm, group, topic); err == nil && totalLag(lag) == 0 {
				break
			}
			if time.Now().After(deadline) {
				problems = append(problems, fmt.Sprintf("lag %v 5 s after the record was stored: the group never commits past the transaction's commit marker (offset %d)", lag, recs[0].Offset+1))
				break
			}
			time.Sleep(50 * time.Millisecond) // polling interval
		}
		verdict(t, "", problems)
	})

	// A malformed record whose headers are nearly as large as the broker
	// allows: its dead letter, with the DLQ headers added, is larger, and
	// must still be written (the headers cut if need be) so that the
	// partition moves on.
	bigHeader := kafkaCase{name: "python malformed record with 1 MiB of headers", client: "python", codec: "none", key: "p-bighdr",
		value: []byte("not json, big headers"), partition: 2, pin: true, headers: [][2]string{{"h", strings.Repeat("x", 1047000)}},
		dlq: "invalid JSON: expected an object"}
	t.Run(bigHeader.name, func(t *testing.T) {
		recs := producePython(t, s.broker, topic, []kafkaCase{bigHeader})[bigHeader.name]
		offsets[bigHeader.name] = recs
		var problems []string
		deadline := time.Now().Add(8 * time.Second)
		for {
			lag, err := groupLag(ctx, adm, group, topic)
			if err == nil && lag[recs[0].Partition] == 0 {
				d, err := readTopic(ctx, adm, s.broker, dlqTopic)
				if err != nil {
					t.Fatal(err)
				}
				problems = bigHeader.check(db, d, recs)
				break
			}
			if time.Now().After(deadline) {
				problems = append(problems, fmt.Sprintf("partition %d: lag %v 8 s after the record was produced, and no dead letter", recs[0].Partition, lag))
				break
			}
			time.Sleep(50 * time.Millisecond) // polling interval
		}
		verdict(t, bigHeader.known, problems)
	})

	// Nothing else: every stored row and every dead letter belongs to a
	// case.
	users := map[string]bool{"p-txn-last": true, "p-claim": true, "p-victim": true}
	for _, c := range all {
		if c.user != "" {
			users[c.user] = true
		}
	}
	rows, err := db.Query("SELECT user_id, event_id FROM events")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var u, id string
		if err := rows.Scan(&u, &id); err != nil {
			t.Fatal(err)
		}
		if !users[u] {
			t.Errorf("stored event %s of user %q belongs to no case", id, u)
		}
	}
	rows.Close()
	if dlq, err = readTopic(ctx, adm, s.broker, dlqTopic); err != nil {
		t.Fatal(err)
	}
	for _, d := range dlq {
		if _, ok := matched[fmt.Sprintf("%d/%d", d.Partition, d.Offset)]; ok ||
			len(deadLetters(bigHeader, []*kgo.Record{d}, offsets[bigHeader.name])) > 0 ||
			len(deadLetters(kafkaCase{}, []*kgo.Record{d}, offsets["p-claim"])) > 0 {
			continue
		}
		t.Errorf("dead letter %d/%d (%s) belongs to no case", d.Partition, d.Offset, header(d, "dlq_error"))
	}
	if code, err := s.health(); err != nil || code != 200 {
		t.Errorf("health after the corpus: %d %v", code, err)
	}
	stored := countRows(t, db, "SELECT COUNT(*) FROM events")
	t.Logf("%d Kafka cases: %d events stored, %d dead letters, in %v", len(all)+3, stored, len(dlq), time.Since(start).Round(time.Millisecond))
}

func countClient(cs []kafkaCase, client string) int {
	n := 0
	for _, c := range cs {
		if c.client == client {
			n++
		}
	}
	return n
}

func (c kafkaCase) n() int { return max(1, c.copies) }

// wantRows is how many rows of c's user must be stored.
func (c kafkaCase) wantRows() int {
	switch {
	case c.rows > 0 || c.txn == "abort":
		return c.rows
	case c.dlq != "":
		return 0
	}
	return 1
}

// deadLetters are the records of dlq that came from c: by their original
// coordinates when known, otherwise by key and value.
func deadLetters(c kafkaCase, dlq []*kgo.Record, at []kgo.Record) []*kgo.Record {
	var out []*kgo.Record
	for _, d := range dlq {
		if len(at) > 0 {
			for _, r := range at {
				if header(d, "dlq_original_partition") == fmt.Sprint(r.Partition) && header(d, "dlq_original_offset") == fmt.Sprint(r.Offset) {
					out = append(out, d)
				}
			}
			continue
		}
		if !c.nullKey && string(d.Key) == c.key && bytes.Equal(d.Value, c.value) {
			out = append(out, d)
		}
	}
	return out
}

// check returns what is wrong with c's outcome.
func (c kafkaCase) check(db *sql.DB, dlq []*kgo.Record, at []kgo.Record) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	dls := deadLetters(c, dlq, at)
	if c.tsBounded {
		var n int
		var lo, hi sql.NullInt64
		if err := db.QueryRow("SELECT COUNT(*), MIN(timestamp), MAX(timestamp) FROM events WHERE user_id = ?", c.user).Scan(&n, &lo, &hi); err != nil {
			return []string{err.Error()}
		}
		minTS, maxTS := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro(), time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC).UnixMicro()
		switch {
		case n == 0 && len(dls) == 1 && strings.Contains(header(dls[0], "dlq_error"), "timestamp"):
		case n == 1 && len(dls) == 0 && lo.Int64 >= minTS && hi.Int64 <= maxTS:
		default:
			bad("%d rows (timestamps %s to %s) and %d dead letters; want one row dated 1970..9999 or one dead letter naming timestamp",
				n, time.UnixMicro(lo.Int64).UTC().Format(time.RFC3339), time.UnixMicro(hi.Int64).UTC().Format(time.RFC3339), len(dls))
		}
		return problems
	}
	switch {
	case c.dlq == "" && len(dls) > 0:
		bad("dead-lettered %d times (%s), want stored", len(dls), header(dls[0], "dlq_error"))
	case c.dlq != "" && len(dls) != 1:
		bad("%d dead letters, want 1", len(dls))
	case c.dlq != "":
		d := dls[0]
		if e := header(d, "dlq_error"); !strings.Contains(e, c.dlq) {
			bad("dlq_error %q does not name %q", e, c.dlq)
		}
		attempts := c.attempts
		if attempts == "" {
			attempts = "1"
		}
		if a := header(d, "dlq_attempts"); a != attempts {
			bad("dlq_attempts %q, want %q", a, attempts)
		}
		if h := header(d, "dlq_original_topic"); h != "user_events" {
			bad("dlq_original_topic %q", h)
		}
		if header(d, "dlq_original_partition") == "" || header(d, "dlq_original_offset") == "" {
			bad("dead letter without its original partition and offset: %v", d.Headers)
		}
	}
	if c.user == "" {
		return problems
	}
	rows, err := db.Query(`SELECT e.event_id, e.event_type, e.element_id, e.source, e.timestamp, e.request_id, COALESCE(m.request_id, '<no message>')
		FROM events e LEFT JOIN messages m ON m.event_id = e.event_id WHERE e.user_id = ?`, c.user)
	if err != nil {
		return append(problems, err.Error())
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
		var id, typ, el, src, rid, mrid string
		var ts int64
		if err := rows.Scan(&id, &typ, &el, &src, &ts, &rid, &mrid); err != nil {
			return append(problems, err.Error())
		}
		wantSrc := c.source
		if wantSrc == "" {
			wantSrc = "kafka"
		}
		switch {
		case c.eventID != "" && id != c.eventID:
			bad("stored with event_id %q, want %q", id, c.eventID)
		case typ != "page_view" || el != "el-"+c.user:
			bad("stored as %s/%s", typ, el)
		case src != wantSrc:
			bad("stored with source %q, want %q", src, wantSrc)
		case c.ts != 0 && ts != c.ts:
			bad("stored with timestamp %d µs, want %d", ts, c.ts)
		}
		if c.requestID != nil {
			if *c.requestID == "" {
				// Any request id kept must be free of control characters.
				for _, v := range []string{rid, mrid} {
					if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) }) {
						bad("request_id stored with control characters: %q", v)
					}
				}
			} else if rid != *c.requestID || mrid != *c.requestID {
				bad("request_id stored as %q (events) and %q (messages), want %q", rid, mrid, *c.requestID)
			}
		}
	}
	if want := c.wantRows(); n != want {
		bad("%d rows stored, want %d", n, want)
	}
	return problems
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// produceKcat sends c with kcat: each copy of the value is a file in dir,
// which kcat sends as one record, whatever bytes it holds.
func produceKcat(kcat, dir, broker, topic string, c kafkaCase) error {
	args := []string{"-P", "-b", broker, "-t", topic, "-z", c.codec, "-X", "message.max.bytes=2000000"}
	if !c.nullKey {
		args = append(args, "-k", c.key)
	}
	for _, h := range c.headers {
		args = append(args, "-H", h[0]+"="+h[1])
	}
	for i := range c.n() {
		f := filepath.Join(dir, fmt.Sprintf("value-%d", i))
		if err := os.WriteFile(f, c.value, 0o600); err != nil {
			return err
		}
		args = append(args, f)
	}
	if out, err := exec.Command(kcat, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("kcat %s: %v\n%s", c.name, err, out)
	}
	return nil
}

// producePython sends cs with testdata/produce.py and returns where each
// case's records went.
func producePython(t *testing.T, broker, topic string, cs []kafkaCase) map[string][]kgo.Record {
	t.Helper()
	type rec struct {
		Codec     string      `json:"codec"`
		Key       *string     `json:"key"`
		Value     *string     `json:"value"`
		Headers   [][2]string `json:"headers"`
		Partition int32       `json:"partition"`
		TsMillis  int64       `json:"timestamp_ms"`
		Txn       string      `json:"txn"`
		TxnGroup  string      `json:"txn_group"`
	}
	var recs []rec
	var owner []string
	for _, c := range cs {
		r := rec{Codec: c.codec, Partition: -1, TsMillis: c.tsMillis, Txn: c.txn, TxnGroup: c.user}
		if c.pin {
			r.Partition = c.partition
		}
		if !c.nullKey {
			r.Key = strp(base64.StdEncoding.EncodeToString([]byte(c.key)))
		}
		if !c.tombstone {
			r.Value = strp(base64.StdEncoding.EncodeToString(c.value))
		}
		for _, h := range c.headers {
			r.Headers = append(r.Headers, [2]string{h[0], base64.StdEncoding.EncodeToString([]byte(h[1]))})
		}
		for range c.n() {
			recs = append(recs, r)
			owner = append(owner, c.name)
		}
	}
	in, _ := json.Marshal(map[string]any{"bootstrap": broker, "topic": topic, "records": recs})
	cmd := exec.Command(python, "testdata/produce.py")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("produce.py: %v\nstdout: %s\nstderr: %s", err, out, pulsetest.Tail(stderr.String(), 20))
	}
	var reports []struct {
		Partition int32  `json:"partition"`
		Offset    int64  `json:"offset"`
		Error     string `json:"error"`
	}
	if err := json.Unmarshal(out, &reports); err != nil || len(reports) != len(recs) {
		t.Fatalf("produce.py answered %s: %v", out, err)
	}
	at := map[string][]kgo.Record{}
	for i, r := range reports {
		at[owner[i]] = append(at[owner[i]], kgo.Record{Partition: r.Partition, Offset: r.Offset})
	}
	for _, recs := range at {
		sort.Slice(recs, func(i, j int) bool { return recs[i].Offset < recs[j].Offset })
	}
	return at
}

// readTopic reads every committed record of topic: until each partition's
// last record before its end offset, or, should a partition end with
// transaction markers (which a reader never sees), until three polls of
// half a second bring nothing more.
func readTopic(ctx context.Context, adm *kadm.Client, broker, topic string) ([]*kgo.Record, error) {
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, err
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	if len(want) == 0 {
		return nil, nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxBytes(64<<20), kgo.FetchMaxPartitionBytes(16<<20))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var out []*kgo.Record
	for idle := 0; len(want) > 0 && idle < 3; {
		pctx, pcancel := context.WithTimeout(ctx, 500*time.Millisecond)
		fs := cl.PollFetches(pctx)
		pcancel()
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("read %s: %d records, still waiting for %v: %w", topic, len(out), want, err)
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				ferr = errors.Join(ferr, err)
			}
		})
		if ferr != nil {
			return nil, fmt.Errorf("read %s: %w", topic, ferr)
		}
		n := len(out)
		fs.EachRecord(func(r *kgo.Record) {
			out = append(out, r)
			if end, ok := want[r.Partition]; ok && r.Offset+1 >= end {
				delete(want, r.Partition)
			}
		})
		if len(out) == n {
			idle++
		} else {
			idle = 0
		}
	}
	return out, nil
}
