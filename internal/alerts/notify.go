package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pulse-dev/pulse/internal/store"
)

// Notification is the generic JSON body a webhook receives.
type Notification struct {
	// Kind is firing, resolved or repeat (still firing).
	Kind        string    `json:"kind"`
	State       string    `json:"state"`
	RuleID      string    `json:"rule_id"`
	RuleName    string    `json:"rule_name"`
	Signal      string    `json:"signal"`
	Description string    `json:"description"`
	Value       float64   `json:"value"`
	Threshold   float64   `json:"threshold"`
	Op          string    `json:"op"`
	At          time.Time `json:"at"`
	// Text is the notification in one line, as a chat shows it.
	Text string `json:"text"`
}

// slackBody is what a Slack-compatible incoming webhook takes.
type slackBody struct {
	Text string `json:"text"`
}

// body renders the notification of an event of rule r in the rule's
// format: what is stored and sent, verbatim, on every attempt.
func body(r *Rule, kind string, v float64, at time.Time) (contentType, text string, err error) {
	state := store.AlertFiring
	if kind == store.AlertEventResolved {
		state = "resolved"
	}
	label := map[string]string{store.AlertEventFiring: "FIRING", store.AlertEventRepeat: "STILL FIRING",
		store.AlertEventResolved: "RESOLVED"}[kind]
	n := Notification{Kind: kind, State: state, RuleID: r.ID, RuleName: r.Name, Signal: r.Signal,
		Description: r.Describe(), Value: v, Threshold: r.Threshold, Op: r.Op, At: at.UTC(),
		Text: fmt.Sprintf("[%s] %s: %s (value %s, at %s)", label, r.Name, r.Describe(), formatValue(v), at.UTC().Format(time.RFC3339))}
	var b []byte
	if r.WebhookFormat == FormatSlack {
		b, err = json.Marshal(slackBody{Text: n.Text})
	} else {
		b, err = json.Marshal(n)
	}
	return "application/json", string(b), err
}

func formatValue(v float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}

// DeliveryConfig bounds the webhook deliveries.
type DeliveryConfig struct {
	// Timeout bounds one attempt, the response included.
	Timeout time.Duration
	// MaxResponse is the most of a response read (and discarded), so a
	// receiver cannot hold an attempt with an endless body.
	MaxResponse int64
	// BackoffBase and BackoffMax space the attempts: the wait doubles
	// from the base up to the max, each with up to half of it taken off
	// at random, so that receivers coming back are not hit in step.
	BackoffBase, BackoffMax time.Duration
	// Budget is how long after its event a notification is still tried:
	// a receiver down for less gets it when it comes back.
	Budget time.Duration
	// Poll is how often due notifications are looked for.
	Poll time.Duration
}

func (c *DeliveryConfig) defaults() {
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.MaxResponse <= 0 {
		c.MaxResponse = 64 << 10
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = 2 * time.Second
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = 5 * time.Minute
	}
	if c.Budget <= 0 {
		c.Budget = 6 * time.Hour
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
}

// backoff is the wait after the attempts-th failed attempt.
func (c *DeliveryConfig) backoff(attempts int) time.Duration {
	d := c.BackoffBase
	for i := 1; i < attempts && d < c.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, c.BackoffMax)
	return d - time.Duration(rand.Int64N(int64(d)/2+1))
}

// errPermanent marks a refusal that trying again cannot change.
var errPermanent = errors.New("refused")

// send makes one attempt. A 2xx is delivered; a 408, a 429 or a 5xx, a
// timeout or a connection failure is tried again; any other status is the
// receiver refusing the body, for good, and so is an address webhooks may
// not reach (only a change of the settings and a restart change that).
func send(ctx context.Context, client *http.Client, g egress, c *DeliveryConfig, e store.AlertEvent) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	// The dialer checks the address it connects to; this also covers an
	// IP address in the URL sent through a proxy (which then dials).
	if err := g.checkURL(e.URL); err != nil {
		return 0, fmt.Errorf("%w: %s: %w", errPermanent, HostOf(e.URL), err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, strings.NewReader(e.Body))
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errPermanent, withoutURL(err, e.URL))
	}
	req.Header.Set("Content-Type", e.ContentType)
	req.Header.Set("User-Agent", "pulse-alerts")
	resp, err := client.Do(req)
	if err != nil {
		if isRefused(err) {
			return 0, fmt.Errorf("%w: %w", errPermanent, withoutURL(err, e.URL))
		}
		return 0, withoutURL(err, e.URL)
	}
	defer resp.Body.Close()
	// The start of the body is kept for the history (a receiver's
	// "invalid_payload" or "no_service" says what to fix); the rest, to a
	// bound, is read so the connection can be reused.
	head, _ := io.ReadAll(io.LimitReader(resp.Body, answerKept+1))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, c.MaxResponse))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, nil
	}
	msg := resp.Status
	if s := printable(head, answerKept); s != "" {
		msg += ": " + s
	}
	if resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		return resp.StatusCode, errors.New(msg)
	}
	return resp.StatusCode, fmt.Errorf("%w: %s", errPermanent, msg)
}

// answerKept is the most of a refusing receiver's answer kept in the
// history, which viewers read: enough for an error code or a sentence,
// not enough to carry out a page of what the receiver holds.
const answerKept = 100

// printable is b as one line of at most n bytes of printable text: runs
// of spaces and control characters become one space, invalid UTF-8 and
// other unprintable runes are dropped, and a cut is marked with "…".
func printable(b []byte, n int) string {
	var out strings.Builder
	space := false
	for _, r := range strings.ToValidUTF8(string(b), "") {
		switch {
		case unicode.IsSpace(r) || unicode.IsControl(r):
			space = out.Len() > 0
			continue
		case !unicode.IsPrint(r):
			continue
		}
		if space {
			out.WriteByte(' ')
			space = false
		}
		out.WriteRune(r)
	}
	s, cut := out.String(), len(b) > n
	if len(s) > n {
		end := n
		for !utf8.RuneStart(s[end]) {
			end--
		}
		s, cut = s[:end], true
	}
	if cut && s != "" {
		s += "…"
	}
	return s
}

// HostOf is a webhook URL cut to its scheme and host: a webhook's path
// and query are often its secret (a Slack hook's are), so whoever may not
// read the URL sees this; "" when raw is not a URL.
func HostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || raw == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// withoutURL replaces the whole URL that net/http writes into its errors
// (Post "https://hooks.example/T…/secret": dial tcp …) with HostOf: the
// error is kept in the history, which viewers read.
func withoutURL(err error, raw string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, HostOf(raw), ue.Err)
	}
	return err
}

// newClient is the webhook client: no redirects followed (a receiver
// moved is a failure to see in the history, not a hop to anywhere), and
// no connection to an address g refuses, checked once the name is
// resolved. Through a proxy (HTTPS_PROXY, HTTP_PROXY) it is the proxy's
// address that is dialled and checked: the proxy then decides where the
// webhooks may go.
func newClient(g egress) *http.Client {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: g.control}
	return &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         dialer.DialContext,
			MaxIdleConnsPerHost: 2,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 10 * time.Second,
		},
	}
}
