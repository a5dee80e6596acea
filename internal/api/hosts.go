package api

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"path"
	"strings"
)

// loopbackHosts are always allowed Host names: a page can send them only
// from this machine, so they open no door to DNS rebinding.
var loopbackHosts = []string{"localhost", "127.0.0.1", "[::1]"}

// hostPolicy decides which Host headers the server answers, with the
// semantics of Django's ALLOWED_HOSTS (the seed's setting): "*" allows
// every host, ".example.com" example.com and its subdomains, other
// entries one host. Pulse's ALLOWED_HOSTS also lists browser origins, so
// an entry may carry a scheme ("https://dash.example.com": its host), a
// glob ("*.example.com") or a port ("example.com:8443": that port only).
type hostPolicy struct {
	any     bool
	entries []string
}

func newHostPolicy(allowed []string) hostPolicy {
	var p hostPolicy
	for _, e := range append(append([]string(nil), loopbackHosts...), allowed...) {
		e = strings.ToLower(strings.TrimSpace(e))
		if i := strings.Index(e, "://"); i >= 0 {
			e = e[i+3:]
		}
		e = strings.TrimSuffix(e, "/")
		switch e {
		case "":
			continue
		case "*":
			p.any = true
		}
		p.entries = append(p.entries, e)
	}
	return p
}

// splitHost splits a Host header or an entry into its host, without
// brackets or a trailing dot, and its port ("" when none).
func splitHost(h string) (host, port string) {
	host = h
	if hh, pp, err := net.SplitHostPort(h); err == nil {
		host, port = hh, pp
	}
	host = strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"), ".")
	return host, port
}

// allows reports whether the Host header h is allowed.
func (p hostPolicy) allows(h string) bool {
	if p.any {
		return true
	}
	h = strings.ToLower(h)
	host, port := splitHost(h)
	if host == "" {
		return false
	}
	for _, e := range p.entries {
		if strings.HasPrefix(e, ".") {
			if host == e[1:] || strings.HasSuffix(host, e) {
				return true
			}
			continue
		}
		eh, ep := splitHost(e)
		if ep != "" && ep != "*" && ep != port {
			continue
		}
		if strings.ContainsAny(eh, "*?[") {
			if ok, err := path.Match(eh, host); err == nil && ok {
				return true
			}
			continue
		}
		if eh == host {
			return true
		}
	}
	return false
}

// checkHost refuses a request whose Host header is not allowed, before
// anything else sees it: a page on a name that the attacker rebinds to
// this machine's address would otherwise be served as a local client.
func (s *Server) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hosts.allows(r.Host) {
			writeError(w, r, s.log, Errorf(EInvalid, "Host %q is not allowed; add it to ALLOWED_HOSTS", r.Host))
			return
		}
		next.ServeHTTP(w, r)
	})
}

const clientIPKey ctxKey = 1

// ClientIP returns the address of the client that sent r: the peer, or,
// when the peer is a trusted proxy, the client it forwarded for. Rate
// limits, WebSocket caps and logs key on it.
func ClientIP(r *http.Request) string {
	if ip, ok := r.Context().Value(clientIPKey).(string); ok {
		return ip
	}
	return peerIP(r)
}

// peerIP is the address at the other end of r's connection.
func peerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// proxies are the reverse proxies whose forwarding headers are believed.
type proxies []netip.Prefix

func (p proxies) trusts(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, pr := range p {
		if pr.Contains(ip) {
			return true
		}
	}
	return false
}

// clientIP finds the client behind r. Only a trusted peer's headers are
// read, and of the hops they list, from the right, the first that is not
// a trusted proxy is the client: a client can prepend anything to
// X-Forwarded-For, but not past the proxy that appended its address.
// X-Forwarded-For wins over Forwarded, which wins over X-Real-IP.
func (p proxies) clientIP(r *http.Request) string {
	peer := peerIP(r)
	ip, err := netip.ParseAddr(peer)
	if err != nil || len(p) == 0 || !p.trusts(ip) {
		return peer
	}
	hops := forwardedHops(r)
	client := ip
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := parseHop(hops[i])
		if err != nil {
			break // garbage left of trusted hops: the last good hop stands
		}
		client = hop
		if !p.trusts(hop) {
			break
		}
	}
	return client.Unmap().String()
}

// forwardedHops lists the addresses a proxy chain recorded, client first.
func forwardedHops(r *http.Request) []string {
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		for _, h := range strings.Split(v, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	if len(hops) > 0 {
		return hops
	}
	for _, v := range r.Header.Values("Forwarded") {
		for _, elem := range strings.Split(v, ",") {
			for _, pair := range strings.Split(elem, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok && strings.EqualFold(k, "for") {
					hops = append(hops, strings.Trim(val, `"`))
				}
			}
		}
	}
	if len(hops) > 0 {
		return hops
	}
	if v := strings.TrimSpace(r.Header.Get("X-Real-IP")); v != "" {
		hops = append(hops, v)
	}
	return hops
}

// parseHop reads one recorded address: an IP, optionally with a port,
// IPv6 in brackets as Forwarded writes it.
func parseHop(h string) (netip.Addr, error) {
	if ap, err := netip.ParseAddrPort(h); err == nil {
		return ap.Addr(), nil
	}
	return netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"))
}

// resolveClient records the client's address for the handlers below.
func (s *Server) resolveClient(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := s.proxies.clientIP(r)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientIPKey, ip)))
	})
}
