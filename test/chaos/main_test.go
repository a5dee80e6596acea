// Package chaos tries to break Pulse from the outside: it builds the pulse
// binary once, runs it as real processes on loopback (a broker, consumers,
// servers), kills them with SIGKILL under load, cuts their database and
// Redis connections, and then checks that every event the producer saw
// acknowledged is stored exactly once. docs/reliability.md reports what
// these tests measured.
package chaos

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/test/pulsetest"
)

// pulseBin is the binary TestMain built.
var pulseBin string

func TestMain(m *testing.M) { os.Exit(pulsetest.Main(m, &pulseBin)) }

// long reports whether the longer variants were asked for.
func long() bool { return os.Getenv("PULSE_CHAOS_LONG") == "1" }

// startProc runs pulse with args and JSON logs. The process is stopped,
// and its output logged if the test failed, when the test ends.
func startProc(t *testing.T, name string, args ...string) *pulsetest.Proc {
	t.Helper()
	cmd := exec.Command(pulseBin, args...)
	cmd.Env = append(append(os.Environ(), "PULSE_LOG_FORMAT=json"), pulsetest.FastRetries...)
	return pulsetest.Start(t, name, cmd)
}

var brokerLine = regexp.MustCompile(`embedded broker listening on (\S+) `)

// startBroker runs `pulse broker` on a free port with its log in dir and
// returns the process and its address.
func startBroker(t *testing.T, dir string, extra ...string) (*pulsetest.Proc, string) {
	t.Helper()
	args := append([]string{"broker", "--addr", "127.0.0.1:0", "--data-dir", dir}, extra...)
	p := startProc(t, "broker", args...)
	var addr string
	pulsetest.WaitFor(t, 30*time.Second, "broker address", func() error {
		if p.Exited() {
			t.Fatalf("broker exited: %v\n%s", p.Err(), p.Logs())
		}
		m := brokerLine.FindStringSubmatch(p.Logs())
		if m == nil {
			return fmt.Errorf("no address line yet")
		}
		addr = m[1]
		return nil
	})
	return p, addr
}
