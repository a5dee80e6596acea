package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

// planValues are the values of "plan" the events carry: plain ones, one
// string spelt two ways, JSON of every kind (spaced as a client sends
// them), quotes and an escaped NUL, and "" for no properties at all.
var planValues = []string{`"free"`, `"pro"`, `"\u0070ro"`, `"team"`, `1.50`, `true`, `null`,
	`{"seats": [1, 2]}`, `"a\"b"`, `"\u00e9t\u00e9"`, `""`, "absent", "none"}

// oddProperties are the properties of events whose plan the rollups
// cannot keep on every store; oddPlans are the plans a scan reads.
var oddProperties = []string{
	`{"plan": "` + strings.Repeat("x", store.MaxRollupValue) + `"}`,
	`{"plan": "\u0000"}`,
	`{"plan": "pro", "note": "\ud800"}`,
	`{"plan": "\ud83d\ude00"}`,
}

var oddPlans = []string{strings.Repeat("x", store.MaxRollupValue), "\x00", "pro", "\U0001F600"}

func planProperties(v string) json.RawMessage {
	switch v {
	case "none":
		return nil
	case "absent":
		return json.RawMessage(`{"country": "fr"}`)
	}
	return json.RawMessage(`{"country": "fr", "plan": ` + v + `}`)
}

// bruteProperties counts the events by a property as a scan of the
// events reads it.
func bruteProperties(t *testing.T, s store.Store, key string, q store.RollupQuery, types []string) map[rollupKey]int64 {
	t.Helper()
	want := map[rollupKey]int64{}
	for _, typ := range types {
		if len(q.Types) > 0 && !slices.Contains(q.Types, typ) {
			continue
		}
		err := s.ScanEvents(t.Context(), store.ScanQuery{EventType: typ, From: q.From, To: q.To.Add(time.Duration(q.Width) * time.Second),
			Fields: []string{store.PropertyPrefix + key}}, func(r *store.ScanRow) error {
			b := store.RollupBucket(time.UnixMicro(r.Micros), q.Width)
			if b >= q.From.Unix() && b < q.To.Unix() {
				want[rollupKey{b, typ, r.Values[0]}]++
			}
			return nil
		})
		if err != nil {
			t.Fatalf("ScanEvents: %v", err)
		}
	}
	return want
}

// fillAll runs the filler until it has nothing left, in chunks of chunk
// ids.
func fillAll(t *testing.T, s store.Store, chunk int64) int {
	t.Helper()
	for steps := 1; ; steps++ {
		more, err := s.FillRollupKeys(t.Context(), chunk)
		if err != nil {
			t.Fatalf("FillRollupKeys: %v", err)
		}
		if !more {
			return steps
		}
		if steps > 100_000 {
			t.Fatal("FillRollupKeys never finishes")
		}
	}
}

func keyState(t *testing.T, s store.Store, key string) (store.RollupKeyState, bool) {
	t.Helper()
	keys, err := s.RollupKeyList(t.Context())
	if err != nil {
		t.Fatalf("RollupKeyList: %v", err)
	}
	for _, k := range keys {
		if k.Key == key {
			return k, true
		}
	}
	return store.RollupKeyState{}, false
}

// A kept property key's rollups agree with a scan of the events: for the
// events stored before the key was added (filled in chunks, with
// retention deleting some counted and some not yet counted between two
// chunks), those stored after, late ones, redeliveries, every kind of
// JSON value, and a key removed and added again before its old rows are
// gone. A value too long to keep sends the reader to the events.
func testPropertyRollupsAgreeWithTheEvents(t *testing.T, s store.Store) {
	rng := rand.New(rand.NewPCG(11, 19))
	start := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	types := []string{event.TypePageView, "signup", "purchase"}
	n := 0
	events := func(count int, odd bool) []store.Record {
		var out []store.Record
		for range count {
			n++
			r := completed(fmt.Sprintf("prop-%04d", n), types[rng.IntN(len(types))], "", event.SourceAPI)
			r.Event.Timestamp = start.Add(time.Duration(rng.Int64N(int64(3 * time.Hour))))
			r.Event.Properties = planProperties(planValues[rng.IntN(len(planValues))])
			r.Message.Partition = int32(rng.IntN(3))
			out = append(out, r)
		}
		if odd {
			// In the last hour only, so that the first two hours stay
			// answerable from the rollups: a value too long to keep, and
			// escapes PostgreSQL stores but its json operators refuse.
			for i, p := range oddProperties {
				r := &out[len(out)-1-i]
				r.Event.Properties = json.RawMessage(p)
				r.Event.Timestamp = start.Add(2*time.Hour + 30*time.Minute)
			}
		}
		return out
	}
	before := events(120, false)
	for i := 0; i < len(before); i += 40 {
		write(t, s, before[i:i+40]...)
	}

	if err := store.CheckRollupKey("properties.plan"); err == nil {
		t.Error("CheckRollupKey accepted a key with its prefix")
	}
	for _, bad := range []string{"", "a.b", `a"b`, strings.Repeat("k", 65), "properties.plan"} {
		if _, err := s.AddRollupKey(t.Context(), bad); err == nil {
			t.Errorf("AddRollupKey(%q) = nil error", bad)
		}
	}
	st, err := s.AddRollupKey(t.Context(), "plan")
	if err != nil {
		t.Fatalf("AddRollupKey: %v", err)
	}
	if st.Ready || st.Filled != 0 || st.Key != "plan" {
		t.Fatalf("AddRollupKey = %+v; want plan, not ready, nothing filled", st)
	}
	if again, err := s.AddRollupKey(t.Context(), "plan"); err != nil || again.AddedAt != st.AddedAt {
		t.Fatalf("AddRollupKey again = %+v, %v; want the kept key unchanged", again, err)
	}
	dim := store.PropertyPrefix + "plan"
	hours := store.RollupQuery{Width: store.RollupHour, Dim: dim, From: start, To: start.Add(2 * time.Hour)}
	if _, err := s.RollupCounts(t.Context(), hours); !errors.Is(err, store.ErrNoRollup) {
		t.Fatalf("RollupCounts before filling: %v; want ErrNoRollup", err)
	}

	// Stored after the key: counted by the writer.
	after := events(90, true)
	for i := 0; i < len(after); i += 30 {
		write(t, s, after[i:i+30]...)
	}
	write(t, s, before[10:20]...) // redelivered: counted once
	write(t, s, after[5:15]...)

	// Half the old events counted, then retention takes the oldest 80
	// rows: some counted by the filler, some not yet.
	for range 3 {
		if _, err := s.FillRollupKeys(t.Context(), 20); err != nil {
			t.Fatalf("FillRollupKeys: %v", err)
		}
	}
	if st, _ := keyState(t, s, "plan"); st.Ready || st.Filled <= 0 || st.Filled >= 1 {
		t.Fatalf("after three chunks of 20 of 120: %+v; want partly filled", st)
	}
	if _, err := s.Retain(t.Context(), store.Retention{MaxRows: int64(len(before) + len(after) - 80)}); err != nil {
		t.Fatalf("Retain: %v", err)
	}
	fillAll(t, s, 20)
	if st, _ := keyState(t, s, "plan"); !st.Ready || st.Filled != 1 {
		t.Fatalf("after filling: %+v; want ready", st)
	}

	check := func(step string) {
		t.Helper()
		for _, w := range store.RollupWidths {
			for _, q := range []store.RollupQuery{
				{Width: w, Dim: dim, From: start.Add(-time.Hour), To: start.Add(2 * time.Hour)},
				{Width: w, Dim: dim, From: start.Add(time.Hour), To: start.Add(2 * time.Hour), Types: []string{"signup", event.TypePageView}},
				{Width: w, Dim: dim, From: start.Add(90 * time.Minute), To: start.Add(91 * time.Minute)},
			} {
				if got, want := rollupCounts(t, s, q), bruteProperties(t, s, "plan", q, types); !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: RollupCounts(%+v) =\n%v\nthe events say\n%v", step, q, got, want)
				}
			}
		}
		// The hour holding the long value is answered from the events.
		long := store.RollupQuery{Width: store.RollupHour, Dim: dim, From: start, To: start.Add(3 * time.Hour)}
		if _, err := s.RollupCounts(t.Context(), long); !errors.Is(err, store.ErrNoRollup) {
			t.Fatalf("%s: RollupCounts over a value of %d bytes: %v; want ErrNoRollup", step, store.MaxRollupValue+2, err)
		}
	}
	check("filled")

	// A scan reads the odd values, and no batch holding them failed.
	var odd []string
	for _, typ := range types {
		if err := s.ScanEvents(t.Context(), store.ScanQuery{EventType: typ, From: start.Add(150 * time.Minute), To: start.Add(151 * time.Minute),
			Fields: []string{dim}}, func(r *store.ScanRow) error {
			odd = append(odd, r.Values[0])
			return nil
		}); err != nil {
			t.Fatalf("ScanEvents: %v", err)
		}
	}
	for _, p := range oddPlans {
		if !slices.Contains(odd, p) {
			t.Fatalf("a scan reads the plans of the odd events' minute as %q; want %q among them", odd, p)
		}
	}

	// The two spellings of "pro" are one value, counted as often as the
	// events carry either.
	all := store.RollupQuery{Width: store.RollupHour, Dim: dim, From: start, To: start.Add(2 * time.Hour)}
	var pro int64
	for k, c := range rollupCounts(t, s, all) {
		if k.value == "pro" {
			pro += c
		}
	}
	var wantPro int64
	for _, e := range latest(t, s, store.MaxLimit) {
		if e.Timestamp.Before(start.Add(2*time.Hour)) && (strings.Contains(string(e.Properties), `"pro"`) || strings.Contains(string(e.Properties), `"\u0070ro"`)) {
			wantPro++
		}
	}
	if pro != wantPro || pro == 0 {
		t.Fatalf("plan pro counted %d times; the events carry it %d times", pro, wantPro)
	}

	if _, err := s.Retain(t.Context(), store.Retention{MaxRows: 50}); err != nil {
		t.Fatalf("Retain: %v", err)
	}
	check("retained")

	// Removed: no longer answered, and its rows go in the background.
	// Added again before they are gone, it starts over on its own rows.
	if err := s.RemoveRollupKey(t.Context(), "plan"); err != nil {
		t.Fatalf("RemoveRollupKey: %v", err)
	}
	if err := s.RemoveRollupKey(t.Context(), "plan"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RemoveRollupKey twice: %v; want ErrNotFound", err)
	}
	if _, err := s.RollupCounts(t.Context(), all); !errors.Is(err, store.ErrNoRollup) {
		t.Fatalf("RollupCounts of a removed key: %v; want ErrNoRollup", err)
	}
	if _, ok := keyState(t, s, "plan"); ok {
		t.Fatal("a removed key is still listed")
	}
	if _, err := s.AddRollupKey(t.Context(), "plan"); err != nil {
		t.Fatalf("AddRollupKey again: %v", err)
	}
	write(t, s, events(40, false)...)
	fillAll(t, s, 7)
	check("added again")
	if old := rollupCounts(t, s, store.RollupQuery{Width: store.RollupMinute, Dim: store.RollupKeyDim(1), From: start.Add(-time.Hour), To: start.Add(5 * time.Hour)}); len(old) != 0 {
		t.Fatalf("the removed key's rows are left: %v", old)
	}

	// The limit.
	for i := range store.MaxRollupKeys - 1 {
		if _, err := s.AddRollupKey(t.Context(), fmt.Sprintf("k%d", i)); err != nil {
			t.Fatalf("AddRollupKey k%d: %v", i, err)
		}
	}
	if _, err := s.AddRollupKey(t.Context(), "one_more"); !errors.Is(err, store.ErrRollupKeyLimit) {
		t.Fatalf("AddRollupKey beyond %d keys: %v; want ErrRollupKeyLimit", store.MaxRollupKeys, err)
	}
}

// A key added to an empty store is ready at once.
func testRollupKeyOnAnEmptyStore(t *testing.T, s store.Store) {
	st, err := s.AddRollupKey(t.Context(), "country")
	if err != nil || !st.Ready || st.Filled != 1 {
		t.Fatalf("AddRollupKey on an empty store = %+v, %v; want ready", st, err)
	}
	if more, err := s.FillRollupKeys(t.Context(), 100); err != nil || more {
		t.Fatalf("FillRollupKeys = %v, %v; want nothing to do", more, err)
	}
	start := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	q := store.RollupQuery{Width: store.RollupMinute, Dim: store.PropertyPrefix + "country", From: start, To: start.Add(time.Hour)}
	if rows, err := s.RollupCounts(t.Context(), q); err != nil || len(rows) != 0 {
		t.Fatalf("RollupCounts = %v, %v; want no rows", rows, err)
	}
}

// Writers storing batches on three partitions while a key is added,
// filled, retained, removed and added again: whatever interleaving the
// store allows, the counts end equal to a scan of the events.
func testPropertyRollupsUnderConcurrentWrites(t *testing.T, s store.Store) {
	start := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	var (
		wg   sync.WaitGroup
		stop = make(chan struct{})
		errs = make(chan error, 3)
	)
	for p := range 3 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(p), 5))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var batch []store.Record
				for j := range 20 {
					r := completed(fmt.Sprintf("cw-%d-%05d-%d", p, i, j), event.TypePageView, "", event.SourceAPI)
					r.Event.Timestamp = start.Add(time.Duration(rng.Int64N(int64(time.Hour))))
					r.Event.Properties = planProperties(planValues[rng.IntN(4)])
					r.Message.Partition = int32(p)
					batch = append(batch, r)
				}
				if _, err := s.Write(t.Context(), batch); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	pause := func() { time.Sleep(20 * time.Millisecond) }
	pause()
	if _, err := s.AddRollupKey(t.Context(), "plan"); err != nil {
		t.Fatalf("AddRollupKey: %v", err)
	}
	for range 5 {
		if _, err := s.FillRollupKeys(t.Context(), 50); err != nil {
			t.Fatalf("FillRollupKeys: %v", err)
		}
		pause()
	}
	if _, err := s.Retain(t.Context(), store.Retention{MaxRows: 200}); err != nil {
		t.Fatalf("Retain: %v", err)
	}
	fillAll(t, s, 50)
	pause()
	if err := s.RemoveRollupKey(t.Context(), "plan"); err != nil {
		t.Fatalf("RemoveRollupKey: %v", err)
	}
	pause()
	if _, err := s.AddRollupKey(t.Context(), "plan"); err != nil {
		t.Fatalf("AddRollupKey: %v", err)
	}
	pause()
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Write: %v", err)
	}
	fillAll(t, s, 50)
	for _, w := range store.RollupWidths {
		q := store.RollupQuery{Width: w, Dim: store.PropertyPrefix + "plan", From: start.Add(-time.Hour), To: start.Add(2 * time.Hour)}
		if got, want := rollupCounts(t, s, q), bruteProperties(t, s, "plan", q, []string{event.TypePageView}); !reflect.DeepEqual(got, want) {
			t.Fatalf("RollupCounts(%+v) =\n%v\nthe events say\n%v", q, got, want)
		}
	}
}
