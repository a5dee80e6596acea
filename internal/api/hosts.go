package api

import (
	"net"
	"net/http"
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
