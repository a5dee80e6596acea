// Package config holds Pulse's settings and resolves them in one order:
// command-line flags, then the environment, then a .env file, then
// defaults. Each subcommand registers the settings it uses on a FlagSet,
// which shows every default and environment variable in --help.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is every Pulse setting, grouped by the part of Pulse that uses
// it; each part goes to that part alone. A subcommand fills the settings
// it registered; the others keep their defaults.
type Config struct {
	// DataDir holds the SQLite database and the embedded broker's log.
	DataDir string

	HTTP     HTTP
	OIDC     OIDC
	Live     Live
	Kafka    Kafka
	Broker   Broker
	Pipeline Pipeline
	Store    Store
	Alerts   Alerts
	Log      Log
}

// Alerts are the alert rules' settings.
type Alerts struct {
	// File is a rules file (YAML or JSON) whose rules are evaluated
	// beside the console's; empty: none. A bad file refuses to start.
	File string
	// Interval is how often the rules are evaluated.
	Interval time.Duration
	// AllowNet lists, comma separated, the CIDRs (or addresses) webhooks
	// may reach although they are not the public internet: loopback,
	// private, link-local and the like are refused otherwise.
	AllowNet string
}

// AllowedNets returns AllowNet as prefixes, a bare address as its /32 or
// /128. Entries that do not parse are left out; Validate reports them.
func (a *Alerts) AllowedNets() []netip.Prefix { return prefixes(a.AllowNet) }

// HTTP is the API server: where it listens and whom it answers.
type HTTP struct {
	// Addr is the HTTP listen address of serve.
	Addr string
	// AllowedHosts lists, comma separated, the Host headers the server
	// answers besides loopback names and its listen address (Django's
	// ALLOWED_HOSTS semantics), and the origins allowed for CORS and
	// WebSocket.
	AllowedHosts string
	// TrustedProxies lists, comma separated, the CIDRs or addresses of
	// reverse proxies whose forwarding headers name the client.
	TrustedProxies string
	AdminToken     string
	// Auth is auto or required (AuthAuto, AuthRequired).
	Auth string
	// MetricsToken lets a scraper read /metrics when sign-in is needed.
	MetricsToken string
	// IngestRate is the HTTP ingest requests per second allowed per
	// client IP; 0 disables the limit.
	IngestRate int
	// MaxConnsPerIP caps the HTTP connections of one peer address
	// (trusted proxies exempt); 0: no cap.
	MaxConnsPerIP int
	// CollectClientRate and CollectKeyRate are the POST /api/collect
	// requests per second allowed per client IP and per source; 0
	// disables the limit.
	CollectClientRate int
	CollectKeyRate    int
	// TrackerPath is where pulse.js is served.
	TrackerPath string
}

// OIDC is sign-in through an OpenID Connect provider
// (docs/accounts.md#openid-connect); off while Issuer is empty.
type OIDC struct {
	// Issuer is the provider's issuer URL, where its discovery document
	// is found.
	Issuer string
	// ClientID and ClientSecret are Pulse's client at the provider; the
	// secret is empty for a public client (PKCE alone).
	ClientID     string
	ClientSecret string
	// RedirectURL is the public URL of Pulse's callback,
	// https://<host>/api/auth/oidc/callback/.
	RedirectURL string
	// Name is the provider's name on the sign-in page; empty: the
	// issuer's host.
	Name string
	// Scopes lists the scopes asked for, separated by commas or spaces;
	// openid is always asked.
	Scopes string
	// RolesClaim names the claim whose values RoleMap maps to roles: a
	// string or an array of strings, or a path into objects
	// (realm_access.roles).
	RolesClaim string
	// RoleMap maps the claim's values to roles: "value=role,...", "*"
	// for anyone the provider signs in (see RoleRules).
	RoleMap string
}

// Enabled reports whether OpenID Connect sign-in is configured.
func (o *OIDC) Enabled() bool { return o.Issuer != "" }

// ScopeList returns the scopes to ask for: openid first, then the
// others of Scopes once each.
func (o *OIDC) ScopeList() []string {
	out := []string{"openid"}
	for _, s := range strings.FieldsFunc(o.Scopes, func(r rune) bool { return r == ',' || r == ' ' }) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// RoleRule maps a value of the roles claim to a role.
type RoleRule struct {
	// Value is the claim's value, compared exactly; "*" matches anyone
	// the provider signs in.
	Value string
	// Role is viewer, operator or admin.
	Role string
}

// RoleRules returns RoleMap's rules. Entries are separated by commas,
// or by semicolons when any is in the map (so that values may hold
// commas, as LDAP names do); each is value=role, split at its last =.
// Entries that do not parse are left out; Validate reports them.
func (o *OIDC) RoleRules() []RoleRule {
	rules, _ := parseRoleMap(o.RoleMap)
	return rules
}

func parseRoleMap(v string) ([]RoleRule, []string) {
	sep := ","
	if strings.Contains(v, ";") {
		sep = ";"
	}
	var rules []RoleRule
	var bad []string
	for _, e := range strings.Split(v, sep) {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		i := strings.LastIndex(e, "=")
		if i < 0 {
			bad = append(bad, fmt.Sprintf("entry %q is not value=role", e))
			continue
		}
		value, role := strings.TrimSpace(e[:i]), strings.ToLower(strings.TrimSpace(e[i+1:]))
		switch {
		case value == "":
			bad = append(bad, fmt.Sprintf("entry %q has no value before =", e))
		case role != "viewer" && role != "operator" && role != "admin":
			bad = append(bad, fmt.Sprintf("entry %q: role %q is not one of viewer, operator, admin", e, role))
		default:
			rules = append(rules, RoleRule{Value: value, Role: role})
		}
	}
	return rules, bad
}

// Live is the live updates: the bus between processes and the
// WebSocket hub.
type Live struct {
	// RedisURL shares live updates between servers; empty: in-process.
	RedisURL string
	// WSMaxClients caps a server's WebSocket connections, and
	// WSMaxClientsPerIP those of one client address.
	WSMaxClients      int
	WSMaxClientsPerIP int
}

// Kafka is the cluster every Kafka client of Pulse talks to, the topics
// and the consumer group.
type Kafka struct {
	// BootstrapServers lists Kafka brokers, comma separated. Empty makes
	// serve start the embedded broker.
	BootstrapServers string

	Topic             string
	DLQTopic          string
	Partitions        int
	ReplicationFactor int

	Group      string
	ConsumerID string

	// Compression is the producers' codec.
	Compression string
	Security    KafkaSecurity
}

// Broker is the embedded broker, started when Kafka.BootstrapServers is
// empty (or by pulse broker). It serves the Kafka topics, with the Kafka
// security settings as its users and certificate.
type Broker struct {
	// Addr is where the embedded broker listens. Beyond loopback it
	// needs SASL (the Kafka settings) and, on a wildcard address,
	// AdvertisedAddr.
	Addr string
	// AdvertisedAddr is the host:port the embedded broker tells clients
	// to connect to; empty: Addr.
	AdvertisedAddr string
	// Retention and RetentionBytes bound the embedded broker's log:
	// records older than the first, and a partition's oldest records
	// beyond the second, are deleted (0: no bound). The broker keeps an
	// index entry in memory for every record batch it holds, so these
	// bound its memory as well as its disk.
	Retention      time.Duration
	RetentionBytes int64
}

// Pipeline is how this process consumes.
type Pipeline struct {
	// Consumers is how many group members serve runs in-process.
	Consumers int
	// Simulate honours the events' delay_seconds and should_fail fields.
	Simulate bool
	// RetryBase is the wait before the first retry of a failed event;
	// each retry doubles it up to RetryMax, with jitter. The default
	// (1 s, then 2 s and 4 s) is the seed's, slow enough to watch.
	RetryBase time.Duration
	// RetryMax caps the wait between two attempts.
	RetryMax time.Duration
	// StoreBehind says what consumers do at start when the group has
	// committed offsets past the records the store holds (the database
	// was deleted, emptied or restored from an older copy): refuse to
	// start, reprocess (move the group back to the store's positions) or
	// ignore.
	StoreBehind string
}

// Store is the database and how long it keeps events.
type Store struct {
	// DatabaseURL is a postgres:// URL or a SQLite file path (optionally
	// prefixed with sqlite://). See Database.
	DatabaseURL      string
	RetentionMaxAge  time.Duration
	RetentionMaxRows int64
	// AuditRetention is how long the audit log keeps an entry; 0 keeps
	// them all.
	AuditRetention time.Duration
}

// Log is the process's logging.
type Log struct {
	Format string
	Level  string
}

// What --store-behind accepts.
const (
	StoreBehindRefuse    = "refuse"
	StoreBehindReprocess = "reprocess"
	StoreBehindIgnore    = "ignore"
)

// KafkaSecurity is the SASL and TLS setup for a real cluster.
type KafkaSecurity struct {
	SASLMechanism         string
	SASLUsername          string
	SASLPassword          string
	TLS                   bool
	TLSCA                 string
	TLSCert               string
	TLSKey                string
	TLSInsecureSkipVerify bool
}

// TLSEnabled reports whether any TLS setting asks for TLS.
func (k KafkaSecurity) TLSEnabled() bool {
	return k.TLS || k.TLSCA != "" || k.TLSCert != "" || k.TLSInsecureSkipVerify
}

// Default returns the built-in defaults, the only place they are
// written. Store.DatabaseURL stays empty: Parse derives it from the data
// directory or the DB_* variables.
func Default() Config {
	return Config{
		DataDir: "./data",
		HTTP: HTTP{
			Addr:          "127.0.0.1:8000",
			Auth:          AuthAuto,
			IngestRate:    50,
			MaxConnsPerIP: 256,
			// A page sends about a batch a second; a source's whole
			// audience shares the second limit.
			CollectClientRate: 20,
			CollectKeyRate:    5000,
			TrackerPath:       "/pulse.js",
		},
		// email for the account's name; groups is a scope only some
		// providers know (Dex, Okta), and others refuse (Google).
		OIDC:   OIDC{Scopes: "openid,email,profile", RolesClaim: "groups"},
		Live:   Live{WSMaxClients: 2000, WSMaxClientsPerIP: 64},
		Store:  Store{AuditRetention: 365 * 24 * time.Hour},
		Alerts: Alerts{Interval: 10 * time.Second},
		Kafka: Kafka{
			Topic:             "user_events",
			DLQTopic:          "user_events_dlq",
			Partitions:        3,
			ReplicationFactor: 1,
			Group:             "dashboard_consumer_group",
			Compression:       "snappy",
		},
		Broker: Broker{
			Addr: "127.0.0.1:9092",
			// Kafka's own default age; the size keeps a busy
			// all-in-one install from filling its disk (and memory,
			// see Broker).
			Retention:      7 * 24 * time.Hour,
			RetentionBytes: 1 << 30,
		},
		Pipeline: Pipeline{Consumers: 3, Simulate: true, StoreBehind: StoreBehindRefuse, RetryBase: time.Second, RetryMax: 5 * time.Second},
		Log:      Log{Format: "auto", Level: "info"},
	}
}

// DefaultConsumerID names a consumer that was given no --consumer-id:
// the host name and the process id, unique on a machine and readable in
// the group's member list.
func DefaultConsumerID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "pulse"
	}
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

// Brokers returns BootstrapServers as a list, empty entries dropped.
func (k *Kafka) Brokers() []string {
	return splitList(k.BootstrapServers)
}

// Origins returns AllowedHosts as a list, empty entries dropped.
func (h *HTTP) Origins() []string {
	return splitList(h.AllowedHosts)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Proxies returns TrustedProxies as prefixes, a bare address as its /32
// or /128. Entries that do not parse are left out; Validate reports them.
func (h *HTTP) Proxies() []netip.Prefix { return prefixes(h.TrustedProxies) }

// prefixes reads a comma-separated list of CIDRs and addresses, leaving
// out the entries that do not parse (cidrList reports them).
func prefixes(list string) []netip.Prefix {
	var out []netip.Prefix
	for _, e := range splitList(list) {
		if p, err := parsePrefix(e); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// Database backends returned by Database.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Database returns the backend named by DatabaseURL and what to open:
// the URL itself for PostgreSQL, the file path for SQLite.
func (s *Store) Database() (driver, dsn string) {
	return database(s.DatabaseURL)
}

func database(u string) (driver, dsn string) {
	switch {
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		return DriverPostgres, u
	case strings.HasPrefix(u, "sqlite://"):
		return DriverSQLite, strings.TrimPrefix(u, "sqlite://")
	case strings.HasPrefix(u, "sqlite:"):
		return DriverSQLite, strings.TrimPrefix(u, "sqlite:")
	}
	return DriverSQLite, u
}

// DefaultDatabaseURL is the SQLite file under dataDir.
func DefaultDatabaseURL(dataDir string) string {
	return filepath.Join(dataDir, "pulse.db")
}

// seedDatabaseURL builds a PostgreSQL URL from the seed's DB_* variables,
// with the seed's defaults for the ones not set. ok is false when neither
// DB_HOST nor DB_NAME is set.
func seedDatabaseURL(lookup func(string) (string, bool)) (string, bool) {
	host, hostSet := lookup("DB_HOST")
	name, nameSet := lookup("DB_NAME")
	if (!hostSet || host == "") && (!nameSet || name == "") {
		return "", false
	}
	get := func(v, def string) string {
		if s, ok := lookup(v); ok && s != "" {
			return s
		}
		return def
	}
	host = get("DB_HOST", "localhost")
	name = get("DB_NAME", "kafka_dashboard")
	user := get("DB_USER", "postgres")
	port := get("DB_PORT", "5432")
	u := url.URL{
		Scheme: "postgres",
		Host:   net.JoinHostPort(host, port),
		Path:   "/" + name,
	}
	if pw, ok := lookup("DB_PASSWORD"); ok && pw != "" {
		u.User = url.UserPassword(user, pw)
	} else {
		u.User = url.User(user)
	}
	return u.String(), true
}

// Validate checks every setting and returns all problems at once, each
// naming the flag to fix: first each setting's own check, then the
// checks that involve several settings.
func (c *Config) Validate() error {
	var errs []error
	for _, k := range table {
		if k.check == nil {
			continue
		}
		k.check(k.field(c), func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("--"+k.flag+" "+format, args...))
		})
	}
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	// The embedded broker runs when no cluster is named.
	if host, _, err := net.SplitHostPort(c.Broker.Addr); err == nil && c.Kafka.BootstrapServers == "" {
		if wildcardHost(host) && c.Broker.AdvertisedAddr == "" {
			bad("--broker-addr %q listens on every interface, but clients cannot connect to that address: set --broker-advertised-addr to the host:port they should use", c.Broker.Addr)
		}
		if !loopbackHost(host) && c.Kafka.Security.SASLMechanism == "" {
			bad("--broker-addr %q exposes the embedded broker beyond this machine without authentication: set --kafka-sasl-mechanism, --kafka-sasl-username and --kafka-sasl-password (the broker requires them and Pulse's own clients use them), or listen on 127.0.0.1", c.Broker.Addr)
		}
	}
	if c.Pipeline.RetryMax < c.Pipeline.RetryBase {
		bad("--retry-max %s must not be below --retry-base %s", c.Pipeline.RetryMax, c.Pipeline.RetryBase)
	}
	if c.Kafka.Topic != "" && c.Kafka.Topic == c.Kafka.DLQTopic {
		bad("--dlq-topic must differ from --topic (both %q)", c.Kafka.Topic)
	}
	k := c.Kafka.Security
	switch strings.ToUpper(k.SASLMechanism) {
	case "":
		if k.SASLUsername != "" || k.SASLPassword != "" {
			bad("--kafka-sasl-username/--kafka-sasl-password need --kafka-sasl-mechanism")
		}
	case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		if k.SASLUsername == "" {
			bad("--kafka-sasl-mechanism %s needs --kafka-sasl-username", k.SASLMechanism)
		}
	}
	if (k.TLSCert == "") != (k.TLSKey == "") {
		bad("--kafka-tls-cert and --kafka-tls-key go together")
	}
	o := c.OIDC
	if o.Issuer == "" {
		for _, s := range []struct{ flag, v string }{{"--oidc-client-id", o.ClientID}, {"--oidc-client-secret", o.ClientSecret}, {"--oidc-redirect-url", o.RedirectURL}, {"--oidc-role-map", o.RoleMap}} {
			if s.v != "" {
				bad("%s needs --oidc-issuer", s.flag)
			}
		}
	} else {
		if o.ClientID == "" {
			bad("--oidc-issuer needs --oidc-client-id, Pulse's client id at the provider")
		}
		if o.RedirectURL == "" {
			bad("--oidc-issuer needs --oidc-redirect-url, the public URL of Pulse's callback such as https://pulse.example.com/api/auth/oidc/callback/")
		}
		if o.RoleMap == "" {
			bad("--oidc-issuer needs --oidc-role-map, such as pulse-admins=admin,pulse-ops=operator (with *=viewer, anyone the provider signs in is a viewer)")
		}
	}
	return errors.Join(errs...)
}

// The checks of single settings, named in their declarations. Validate
// prefixes their messages with the flag.

// oidcURL is an issuer or redirect URL: https, or http on loopback only
// (over plain http a forged discovery or key set would sign anyone in).
func oidcURL(v string, bad badf) {
	if v == "" {
		return
	}
	u, err := url.Parse(v)
	switch {
	case err != nil:
		bad("is not a valid URL: %v", redactURLError(err))
	case u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		bad("%q must be an absolute https:// URL", v)
	case u.Scheme == "http" && !loopbackHost(u.Hostname()):
		bad("%q must use https (http only on loopback, for tests)", v)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		bad("%q must have no query, fragment or user", v)
	}
}

// oidcRedirect is the callback's public URL.
func oidcRedirect(v string, bad badf) {
	oidcURL(v, bad)
	if u, err := url.Parse(v); v != "" && err == nil && !strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/api/auth/oidc/callback") {
		bad("%q must end with /api/auth/oidc/callback/, where Pulse answers the provider", v)
	}
}

func roleMap(v string, bad badf) {
	_, problems := parseRoleMap(v)
	for _, p := range problems {
		bad("%s", p)
	}
}

func scopeList(v string, bad badf) {
	for _, s := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
		if strings.ContainsFunc(s, func(r rune) bool { return r < 0x21 || r == '"' || r == '\\' || r > 0x7e }) {
			bad("scope %q has a character a scope cannot hold", s)
		}
	}
}

func hostPort(v string, bad badf) {
	if _, port, err := net.SplitHostPort(v); err != nil {
		bad("%q must be host:port: %v", v, err)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		bad("%q has an invalid port", v)
	}
}

func hostPorts(v string, bad badf) {
	for _, b := range splitList(v) {
		if _, _, err := net.SplitHostPort(b); err != nil {
			bad("entry %q must be host:port", b)
		}
	}
}

// advertisedAddr is a host:port clients can dial, or empty.
func advertisedAddr(v string, bad badf) {
	if v == "" {
		return
	}
	if host, port, err := net.SplitHostPort(v); err != nil || host == "" {
		bad("%q must be host:port", v)
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		bad("%q needs a port from 1 to 65535", v)
	}
}

func notEmpty(v string, bad badf) {
	if v == "" {
		bad("must not be empty")
	}
}

// topicPattern is Kafka's legal topic name.
var topicPattern = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

func topicName(v string, bad badf) {
	if !topicPattern.MatchString(v) || v == "." || v == ".." {
		bad("%q is not a valid Kafka topic name (letters, digits, '.', '_', '-'; at most 249)", v)
	}
}

func atLeast(min int) func(int, badf) {
	return func(v int, bad badf) {
		if v < min {
			bad("must be ≥ %d (got %d)", min, v)
		}
	}
}

func between(min, max int) func(int, badf) {
	return func(v int, bad badf) {
		if v < min || v > max {
			bad("must be between %d and %d (got %d)", min, max, v)
		}
	}
}

func positive[T int | int64 | time.Duration](v T, bad badf) {
	if v <= 0 {
		bad("must be above 0")
	}
}

func notNegative[T int | int64 | time.Duration](v T, bad badf) {
	if v < 0 {
		bad("must not be negative")
	}
}

func databaseURL(v string, bad badf) {
	if driver, dsn := database(v); driver == DriverPostgres {
		if _, err := url.Parse(dsn); err != nil {
			bad("is not a valid URL: %v", redactURLError(err))
		}
	}
}

func redisURL(v string, bad badf) {
	if v == "" {
		return
	}
	if u, err := url.Parse(v); err != nil {
		bad("is not a valid URL: %v", redactURLError(err))
	} else if u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix" {
		bad("must start with redis://, rediss:// or unix://")
	}
}

func logFormat(v string, bad badf) {
	switch v {
	case "auto", "text", "json":
	default:
		bad("must be auto, text or json (got %q)", v)
	}
}

func logLevel(v string, bad badf) {
	switch strings.ToLower(v) {
	case "debug", "info", "warn", "warning", "error":
	default:
		bad("must be debug, info, warn or error (got %q)", v)
	}
}

func compressionName(v string, bad badf) {
	switch strings.ToLower(v) {
	case "snappy", "lz4", "zstd", "gzip", "none", "":
	default:
		bad("must be snappy, lz4, zstd, gzip or none (got %q)", v)
	}
}

func saslMechanism(v string, bad badf) {
	switch strings.ToUpper(v) {
	case "", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
	default:
		bad("must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (got %q)", v)
	}
}

// trackerPath must be a path of its own: not the UI's root, not under
// the API or the WebSocket.
func trackerPath(v string, bad badf) {
	switch {
	case !strings.HasPrefix(v, "/") || v == "/" || strings.HasSuffix(v, "/"):
		bad("must be a path such as /pulse.js or /js/p.js, starting with / and not ending with it")
	case strings.HasPrefix(v, "/api/") || v == "/api" || strings.HasPrefix(v, "/ws/") || v == "/metrics" || strings.HasPrefix(v, "/assets/"):
		bad("must not be under /api, /ws, /assets or be /metrics, which Pulse serves itself")
	case strings.ContainsAny(v, "{}?# \t") || path.Clean(v) != v:
		bad("must be a clean path without {, }, ?, #, spaces or dot segments")
	}
}

func cidrList(v string, bad badf) {
	for _, e := range splitList(v) {
		if _, err := parsePrefix(e); err != nil {
			bad("entry %q is not a CIDR (127.0.0.1/32, 10.0.0.0/8) or an IP address", e)
		}
	}
}

// The auth modes.
const (
	AuthAuto     = "auto"
	AuthRequired = "required"
)

func authMode(v string, bad badf) {
	if v != AuthAuto && v != AuthRequired {
		bad("%q must be auto or required", v)
	}
}

func storeBehind(v string, bad badf) {
	switch v {
	case StoreBehindRefuse, StoreBehindReprocess, StoreBehindIgnore:
	default:
		bad("%q must be refuse, reprocess or ignore", v)
	}
}

// wildcardHost reports a listen host that binds every interface.
func wildcardHost(host string) bool {
	if host == "" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

// loopbackHost reports a listen host reachable from this machine only.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redactURLError keeps a URL parse error from echoing the URL, which may
// hold a password.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// RedactURL hides the password of a URL (postgres://user:xxxxx@host/db, as
// url.URL.Redacted writes it). Text that does not parse as a URL is
// returned as is.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return u.Redacted()
}

func mask(s string) string {
	if s == "" {
		return ""
	}
	return "***"
}

// Redacted renders the configuration one setting per line, name=value,
// with secrets hidden: for logs and test failures.
func (c *Config) Redacted() string {
	var b strings.Builder
	for _, k := range table {
		fmt.Fprintf(&b, "%s=%s\n", k.logKey(), k.shown(c))
	}
	return b.String()
}

// LogAttrs returns the redacted configuration as slog key-value pairs,
// the same as Redacted.
func (c *Config) LogAttrs() []any {
	out := make([]any, 0, 2*len(table))
	for _, k := range table {
		out = append(out, k.logKey(), k.shown(c))
	}
	return out
}

// alertsInterval keeps the evaluation neither busy nor too slow for a
// rule's for duration to mean anything.
func alertsInterval(v time.Duration, bad badf) {
	if v < time.Second || v > 5*time.Minute {
		bad("must be from 1s to 5m")
	}
}
