package alerts

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
)

// AllowNetSetting names the setting that lets webhooks reach addresses
// refused by default, for the errors that refuse them.
const AllowNetSetting = "--alerts-allow-net (PULSE_ALERTS_ALLOW_NET)"

// RefusedError is a webhook address webhooks may not reach: whoever may
// make a rule could otherwise have the server post to, and show the
// answer of, what only it can reach (the cloud metadata service at
// 169.254.169.254, an admin port on loopback, the internal network).
type RefusedError struct {
	Addr netip.Addr
	// Kind says which range the address is in ("loopback", "private"…).
	Kind string
}

func (e *RefusedError) Error() string {
	article := "a"
	if strings.ContainsRune("aeiouAEIOU", rune(e.Kind[0])) {
		article = "an"
	}
	return fmt.Sprintf("%s is %s %s address, which webhooks may not reach (allow it with %s)", e.Addr, article, e.Kind, AllowNetSetting)
}

// special are the ranges refused besides those netip classifies:
// addresses that are not the public internet, or that reach the host or
// its network in ways of their own.
var special = []struct {
	p    netip.Prefix
	kind string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "this-network"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (carrier-grade NAT)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "protocol-assignment"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"}, // 255.255.255.255 included
	{netip.MustParsePrefix("::/96"), "IPv4-compatible"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
	// IPv4 inside IPv6 by ways not decoded below: a local NAT64 prefix
	// (RFC 8215) and Teredo. Refusing them whole is simpler than
	// decoding, and no webhook receiver lives there.
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64"},
	{netip.MustParsePrefix("2001::/32"), "Teredo"},
}

// Ranges that carry an IPv4 address inside an IPv6 one, which a gateway
// forwards to that IPv4 address: checked as the address they carry.
var (
	nat64  = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4 = netip.MustParsePrefix("2002::/16")
)

// kind is the refused range a holds, "" for a public address.
func kind(a netip.Addr) string {
	a = a.WithZone("").Unmap()
	switch {
	case a.IsUnspecified():
		return "unspecified"
	case a.IsLoopback():
		return "loopback"
	case a.Is4() && a.IsLinkLocalUnicast():
		return "link-local (cloud metadata)"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.IsPrivate():
		return "private"
	case a.IsMulticast():
		return "multicast"
	}
	for _, s := range special {
		if s.p.Contains(a) {
			return s.kind
		}
	}
	if nat64.Contains(a) || sixTo4.Contains(a) {
		b := a.As16()
		var v4 [4]byte
		if nat64.Contains(a) {
			copy(v4[:], b[12:])
		} else {
			copy(v4[:], b[2:6])
		}
		if k := kind(netip.AddrFrom4(v4)); k != "" {
			return k + " (inside IPv6)"
		}
	}
	return ""
}

// egress decides which addresses the webhooks may reach: every public
// address, and those of allow.
type egress struct{ allow []netip.Prefix }

// check refuses a when it is not public and no allowed range holds it.
func (g egress) check(a netip.Addr) error {
	k := kind(a)
	if k == "" {
		return nil
	}
	plain := a.WithZone("")
	for _, p := range g.allow {
		if p.Contains(plain) || p.Contains(plain.Unmap()) {
			return nil
		}
	}
	return &RefusedError{Addr: plain, Kind: k}
}

// control is the webhook dialer's Control: it runs after the name is
// resolved, on the address about to be connected to, so a name that
// resolves to a refused address (localhost, or a DNS record pointed at
// the metadata service) is refused as the address itself is.
func (g egress) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook address %q: %w", address, err)
	}
	return g.check(ap.Addr())
}

// checkURL refuses a webhook URL whose host is a refused IP address; a
// host name is checked when it is dialled.
func (g egress) checkURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	host := u.Hostname()
	a, err := netip.ParseAddr(host)
	if err != nil {
		var ok bool
		if a, ok = looseIPv4(host); !ok {
			return nil
		}
	}
	return g.check(a)
}

// looseIPv4 reads host as the C library's inet_aton would: one to four
// dot-separated numbers, each decimal, octal (leading 0) or hex (0x),
// the last filling the remaining bytes, and a trailing dot ignored. Go's
// resolver does not take "127.1", "2130706433" or "0x7f.0.0.1" for an
// address, but a proxy (or the resolver of whatever a proxy runs on)
// may: such a host is judged as the address it spells.
func looseIPv4(host string) (netip.Addr, bool) {
	host = strings.TrimSuffix(host, ".")
	parts := strings.Split(host, ".")
	if host == "" || len(parts) > 4 {
		return netip.Addr{}, false
	}
	nums := make([]uint64, len(parts))
	for i, p := range parts {
		digits, base := p, 10
		switch {
		case len(p) > 2 && (p[:2] == "0x" || p[:2] == "0X"):
			digits, base = p[2:], 16
		case len(p) > 1 && p[0] == '0':
			digits, base = p[1:], 8
		}
		// An explicit base takes no sign, underscore or other prefix.
		n, err := strconv.ParseUint(digits, base, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		nums[i] = n
	}
	// Every part but the last is one byte; the last fills the rest.
	var v uint64
	for _, n := range nums[:len(nums)-1] {
		if n > 0xff {
			return netip.Addr{}, false
		}
		v = v<<8 | n
	}
	rest := 8 * uint(5-len(nums))
	last := nums[len(nums)-1]
	if last >= 1<<rest {
		return netip.Addr{}, false
	}
	v = v<<rest | last
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// isRefused tells whether err is a webhook address refused.
func isRefused(err error) bool {
	var r *RefusedError
	return errors.As(err, &r)
}
