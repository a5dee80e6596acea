package alerts

import (
	"net/netip"
	"strings"
	"testing"
)

// Every address outside the public internet is refused, whatever its
// spelling (zoned, IPv4-mapped, carried in NAT64 or 6to4), unless an
// allowed range holds it; public addresses pass.
func TestEgressRanges(t *testing.T) {
	refused := map[string]string{
		"127.0.0.1":              "loopback",
		"127.1.2.3":              "loopback",
		"::1":                    "loopback",
		"::ffff:127.0.0.1":       "loopback",
		"169.254.169.254":        "link-local (cloud metadata)",
		"fe80::1%eth0":           "link-local",
		"10.1.2.3":               "private",
		"172.16.0.1":             "private",
		"172.31.255.254":         "private",
		"192.168.1.1":            "private",
		"fd00::1":                "private",
		"fc00::1":                "private",
		"0.0.0.0":                "unspecified",
		"::":                     "unspecified",
		"0.1.2.3":                "this-network",
		"100.64.0.1":             "shared (carrier-grade NAT)",
		"192.0.0.8":              "protocol-assignment",
		"198.18.0.1":             "benchmarking",
		"255.255.255.255":        "reserved",
		"240.0.0.1":              "reserved",
		"224.0.0.1":              "multicast",
		"ff02::1":                "multicast",
		"fec0::1":                "site-local",
		"::7f00:1":               "IPv4-compatible",
		"64:ff9b::a9fe:a9fe":     "link-local (cloud metadata) (inside IPv6)",
		"2002:a00:1::":           "private (inside IPv6)",
		"64:ff9b::7f00:1":        "loopback (inside IPv6)",
		"::ffff:169.254.169.254": "link-local (cloud metadata)",
		"64:ff9b:1::a9fe:a9fe":   "local-use NAT64",
		"2001:0:4136:e378::1":    "Teredo",
	}
	g := egress{}
	for s, want := range refused {
		err := g.check(netip.MustParseAddr(s))
		if err == nil || !strings.Contains(err.Error(), " "+want+" address, which webhooks may not reach") ||
			!strings.Contains(err.Error(), "--alerts-allow-net (PULSE_ALERTS_ALLOW_NET)") {
			t.Errorf("%s: %v, want refused as %s naming the setting", s, err, want)
		}
	}
	for _, s := range []string{"8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111", "64:ff9b::808:808", "2002:808:808::"} {
		if err := g.check(netip.MustParseAddr(s)); err != nil {
			t.Errorf("public %s refused: %v", s, err)
		}
	}
	allow := egress{allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fe80::/10")}}
	for _, s := range []string{"127.0.0.1", "::ffff:127.0.0.1", "10.200.0.1", "fe80::1%eth0"} {
		if err := allow.check(netip.MustParseAddr(s)); err != nil {
			t.Errorf("%s refused although allowed: %v", s, err)
		}
	}
	for _, s := range []string{"127.0.0.2", "::1", "169.254.169.254", "192.168.1.1"} {
		if err := allow.check(netip.MustParseAddr(s)); err == nil {
			t.Errorf("%s passed: outside every allowed range", s)
		}
	}
}

// A URL's host spelled as an address only inet_aton reads (which a proxy
// may) is judged as that address; host names, and numbers that are not
// addresses, are left to the dial.
func TestEgressLooseIPv4InURL(t *testing.T) {
	g := egress{}
	for _, u := range []string{"http://127.1/", "http://2130706433/", "http://0x7f000001/", "http://0x7f.0.0.1/",
		"http://0177.0.0.1/", "http://127.0.0.1./", "http://169.254.43518/", "http://10.1/hook"} {
		if err := g.checkURL(u); !isRefused(err) {
			t.Errorf("%s: %v, want refused", u, err)
		}
	}
	for _, u := range []string{"https://hooks.slack.com/services/x", "http://cafe.be/", "http://0x.example/",
		"http://1.2.3.4.5/", "http://256.1.1.1/", "http://08.0.0.1/", "http://0b1/", "http://1_0.0.0.1/", "http://8.8.8.8/", "http://134744072/"} {
		if err := g.checkURL(u); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	if a, ok := looseIPv4("127.1"); !ok || a != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("127.1 = %v %v, want 127.0.0.1", a, ok)
	}
}

// The dialer's check reads the address the name resolved to, zone and
// port included.
func TestEgressControl(t *testing.T) {
	g := egress{}
	for _, a := range []string{"127.0.0.1:8080", "[::1]:443", "[fe80::1%eth0]:80", "169.254.169.254:80"} {
		if err := g.control("tcp", a, nil); !isRefused(err) {
			t.Errorf("dial of %s: %v, want refused", a, err)
		}
	}
	if err := g.control("tcp", "93.184.215.14:443", nil); err != nil {
		t.Errorf("dial of a public address: %v", err)
	}
}

// A refusing receiver's answer is kept as one short line of printable
// text, cut with a mark.
func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"invalid_payload":                        "invalid_payload",
		"  no\r\n\tservice \x1b[31m\x00 ":        "no service [31m",
		"\xff\xfebad utf-8":                      "bad utf-8",
		strings.Repeat("a", 100):                 strings.Repeat("a", 100),
		strings.Repeat("a", 101):                 strings.Repeat("a", 100) + "…",
		strings.Repeat("é", 60):                  strings.Repeat("é", 50) + "…",
		"<html>\n<body>\u202eevil</body></html>": "<html> <body>evil</body></html>",
	} {
		if got := printable([]byte(in), 100); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}
