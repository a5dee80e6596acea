package store

import (
	"encoding/json"
	"testing"
	"time"
)

// An Age reads days and Go durations and writes whole days as days, so
// that what a user gave comes back recognisable.
func TestAgeJSON(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		out  string
	}{
		{`"30d"`, 30 * 24 * time.Hour, `"30d"`},
		{`"720h"`, 30 * 24 * time.Hour, `"30d"`},
		{`"1.5d"`, 36 * time.Hour, `"36h0m0s"`},
		{`"90m"`, 90 * time.Minute, `"1h30m0s"`},
		{`"0s"`, 0, `"0s"`},
	} {
		var a Age
		if err := json.Unmarshal([]byte(tc.in), &a); err != nil || time.Duration(a) != tc.want {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", tc.in, time.Duration(a), err, tc.want)
			continue
		}
		if b, err := json.Marshal(a); err != nil || string(b) != tc.out {
			t.Errorf("Marshal(%v) = %s, %v; want %s", time.Duration(a), b, err, tc.out)
		}
	}
	for _, bad := range []string{`30`, `"30 days"`, `"d"`, `"1e300d"`, `null`} {
		var a Age
		if err := json.Unmarshal([]byte(bad), &a); err == nil && bad != `null` {
			t.Errorf("Unmarshal(%s) = %v, want an error", bad, time.Duration(a))
		}
	}
	b, _ := json.Marshal(SourceSettings{})
	if string(b) != `{"respect_dnt":false,"store_ip":false}` {
		t.Errorf("zero settings = %s: retention should be absent", b)
	}
}

func TestCheckRetention(t *testing.T) {
	for d, ok := range map[time.Duration]bool{0: true, time.Hour: true, 59 * time.Minute: false, -time.Hour: false,
		MaxSourceRetention: true, MaxSourceRetention + time.Hour: false} {
		if err := CheckRetention(d); (err == nil) != ok {
			t.Errorf("CheckRetention(%v) = %v", d, err)
		}
	}
}
