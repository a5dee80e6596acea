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
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Config is every Pulse setting. A subcommand fills the fields it
// registered; the others keep their defaults.
type Config struct {
	// Addr is the HTTP listen address of serve.
	Addr string
	// DataDir holds the SQLite database and the embedded broker's log.
	DataDir string
	// BootstrapServers lists Kafka brokers, comma separated. Empty makes
	// serve start the embedded broker.
	BootstrapServers string
	// BrokerAddr is where the embedded broker listens. Beyond loopback it
	// needs SASL (the Kafka settings) and, on a wildcard address,
	// BrokerAdvertisedAddr.
	BrokerAddr string
	// BrokerAdvertisedAddr is the host:port the embedded broker tells
	// clients to connect to; empty: BrokerAddr.
	BrokerAdvertisedAddr string

	Topic             string
	DLQTopic          string
	Partitions        int
	ReplicationFactor int

	// Consumers is how many group members serve runs in-process.
	Consumers     int
	ConsumerGroup string
	ConsumerID    string

	// DatabaseURL is a postgres:// URL or a SQLite file path (optionally
	// prefixed with sqlite://). See Database.
	DatabaseURL string
	RedisURL    string
	// AllowedHosts lists, comma separated, the Host headers the server
	// answers besides loopback names and its listen address (Django's
	// ALLOWED_HOSTS semantics), and the origins allowed for CORS and
	// WebSocket.
	AllowedHosts string
	AdminToken   string

	LogFormat string
	LogLevel  string

	Compression string
	Kafka       KafkaSecurity

	RetentionMaxAge  time.Duration
	RetentionMaxRows int64

	// BrokerRetention and BrokerRetentionBytes bound the embedded
	// broker's log: records older than the first, and a partition's
	// oldest records beyond the second, are deleted (0: no bound). The
	// broker keeps an index entry in memory for every record batch it
	// holds, so these bound its memory as well as its disk.
	BrokerRetention      time.Duration
	BrokerRetentionBytes int64

	// Simulate honours the events' delay_seconds and should_fail fields.
	Simulate bool
	// IngestRate is the HTTP ingest requests per second allowed per
	// client IP; 0 disables the limit.
	IngestRate int
	// TrustedProxies lists, comma separated, the CIDRs or addresses of
	// reverse proxies whose forwarding headers name the client.
	TrustedProxies string
	// WSMaxClients caps a server's WebSocket connections, and
	// WSMaxClientsPerIP those of one client address.
	WSMaxClients      int
	WSMaxClientsPerIP int
	// MaxConnsPerIP caps the HTTP connections of one peer address
	// (trusted proxies exempt); 0: no cap.
	MaxConnsPerIP int
	// StoreBehind says what consumers do at start when the group has
	// committed offsets past the records the store holds (the database
	// was deleted, emptied or restored from an older copy): refuse to
	// start, reprocess (move the group back to the store's positions) or
	// ignore.
	StoreBehind string
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

// Default returns the built-in defaults. DatabaseURL stays empty: Parse
// derives it from the data directory or the DB_* variables.
func Default() Config {
	return Config{
		Addr:              "127.0.0.1:8000",
		DataDir:           "./data",
		BrokerAddr:        "127.0.0.1:9092",
		Topic:             "user_events",
		DLQTopic:          "user_events_dlq",
		Partitions:        3,
		ReplicationFactor: 1,
		Consumers:         3,
		ConsumerGroup:     "dashboard_consumer_group",
		LogFormat:         "auto",
		LogLevel:          "info",
		Compression:       "snappy",
		Simulate:          true,
		IngestRate:        50,
		WSMaxClients:      2000,
		WSMaxClientsPerIP: 64,
		MaxConnsPerIP:     256,
		StoreBehind:       StoreBehindRefuse,
		// Kafka's own default age; the size keeps a busy all-in-one
		// install from filling its disk (and memory, see above).
		BrokerRetention:      7 * 24 * time.Hour,
		BrokerRetentionBytes: 1 << 30,
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
func (c *Config) Brokers() []string {
	return splitList(c.BootstrapServers)
}

// Origins returns AllowedHosts as a list, empty entries dropped.
func (c *Config) Origins() []string {
	return splitList(c.AllowedHosts)
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
func (c *Config) Proxies() []netip.Prefix {
	var out []netip.Prefix
	for _, e := range splitList(c.TrustedProxies) {
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
func (c *Config) Database() (driver, dsn string) {
	u := c.DatabaseURL
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

// topicPattern is Kafka's legal topic name.
var topicPattern = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

// Validate checks every field and returns all problems at once, each
// naming the flag to fix.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	for _, a := range []struct{ flag, v string }{{"--addr", c.Addr}, {"--broker-addr", c.BrokerAddr}} {
		if _, port, err := net.SplitHostPort(a.v); err != nil {
			bad("%s %q must be host:port: %v", a.flag, a.v, err)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			bad("%s %q has an invalid port", a.flag, a.v)
		}
	}
	if c.BrokerAdvertisedAddr != "" {
		if host, port, err := net.SplitHostPort(c.BrokerAdvertisedAddr); err != nil || host == "" {
			bad("--broker-advertised-addr %q must be host:port", c.BrokerAdvertisedAddr)
		} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			bad("--broker-advertised-addr %q needs a port from 1 to 65535", c.BrokerAdvertisedAddr)
		}
	}
	// The embedded broker runs when no cluster is named.
	if host, _, err := net.SplitHostPort(c.BrokerAddr); err == nil && c.BootstrapServers == "" {
		if wildcardHost(host) && c.BrokerAdvertisedAddr == "" {
			bad("--broker-addr %q listens on every interface, but clients cannot connect to that address: set --broker-advertised-addr to the host:port they should use", c.BrokerAddr)
		}
		if !loopbackHost(host) && c.Kafka.SASLMechanism == "" {
			bad("--broker-addr %q exposes the embedded broker beyond this machine without authentication: set --kafka-sasl-mechanism, --kafka-sasl-username and --kafka-sasl-password (the broker requires them and Pulse's own clients use them), or listen on 127.0.0.1", c.BrokerAddr)
		}
	}
	if c.DataDir == "" {
		bad("--data-dir must not be empty")
	}
	for _, b := range c.Brokers() {
		if _, _, err := net.SplitHostPort(b); err != nil {
			bad("--bootstrap-servers entry %q must be host:port", b)
		}
	}
	for _, t := range []struct{ flag, v string }{{"--topic", c.Topic}, {"--dlq-topic", c.DLQTopic}} {
		if !topicPattern.MatchString(t.v) || t.v == "." || t.v == ".." {
			bad("%s %q is not a valid Kafka topic name (letters, digits, '.', '_', '-'; at most 249)", t.flag, t.v)
		}
	}
	if c.Topic != "" && c.Topic == c.DLQTopic {
		bad("--dlq-topic must differ from --topic (both %q)", c.Topic)
	}
	if c.Partitions < 1 {
		bad("--partitions must be ≥ 1 (got %d)", c.Partitions)
	}
	if c.ReplicationFactor < 1 {
		bad("--replication-factor must be ≥ 1 (got %d)", c.ReplicationFactor)
	}
	if c.Consumers < 0 || c.Consumers > 64 {
		bad("--consumers must be between 0 and 64 (got %d)", c.Consumers)
	}
	if c.ConsumerGroup == "" {
		bad("--consumer-group must not be empty")
	}
	if driver, dsn := c.Database(); driver == DriverPostgres {
		if _, err := url.Parse(dsn); err != nil {
			bad("--database-url is not a valid URL: %v", redactURLError(err))
		}
	}
	if c.RedisURL != "" {
		if u, err := url.Parse(c.RedisURL); err != nil {
			bad("--redis-url is not a valid URL: %v", redactURLError(err))
		} else if u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix" {
			bad("--redis-url must start with redis://, rediss:// or unix://")
		}
	}
	switch c.LogFormat {
	case "auto", "text", "json":
	default:
		bad("--log-format must be auto, text or json (got %q)", c.LogFormat)
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "warning", "error":
	default:
		bad("--log-level must be debug, info, warn or error (got %q)", c.LogLevel)
	}
	switch strings.ToLower(c.Compression) {
	case "snappy", "lz4", "zstd", "gzip", "none", "":
	default:
		bad("--compression must be snappy, lz4, zstd, gzip or none (got %q)", c.Compression)
	}
	k := c.Kafka
	switch strings.ToUpper(k.SASLMechanism) {
	case "":
		if k.SASLUsername != "" || k.SASLPassword != "" {
			bad("--kafka-sasl-username/--kafka-sasl-password need --kafka-sasl-mechanism")
		}
	case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		if k.SASLUsername == "" {
			bad("--kafka-sasl-mechanism %s needs --kafka-sasl-username", k.SASLMechanism)
		}
	default:
		bad("--kafka-sasl-mechanism must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (got %q)", k.SASLMechanism)
	}
	if (k.TLSCert == "") != (k.TLSKey == "") {
		bad("--kafka-tls-cert and --kafka-tls-key go together")
	}
	if c.RetentionMaxAge < 0 {
		bad("--retention-max-age must not be negative")
	}
	if c.IngestRate < 0 {
		bad("--ingest-rate must not be negative")
	}
	for _, e := range splitList(c.TrustedProxies) {
		if _, err := parsePrefix(e); err != nil {
			bad("--trusted-proxies entry %q is not a CIDR (10.0.0.0/8) or an IP address", e)
		}
	}
	if c.WSMaxClients < 1 {
		bad("--ws-max-clients must be ≥ 1 (got %d)", c.WSMaxClients)
	}
	if c.WSMaxClientsPerIP < 1 {
		bad("--ws-max-clients-per-ip must be ≥ 1 (got %d)", c.WSMaxClientsPerIP)
	}
	if c.MaxConnsPerIP < 0 {
		bad("--max-conns-per-ip must not be negative")
	}
	switch c.StoreBehind {
	case StoreBehindRefuse, StoreBehindReprocess, StoreBehindIgnore:
	default:
		bad("--store-behind %q must be refuse, reprocess or ignore", c.StoreBehind)
	}
	if c.RetentionMaxRows < 0 {
		bad("--retention-max-rows must not be negative")
	}
	if c.BrokerRetention < 0 {
		bad("--broker-retention must not be negative")
	}
	if c.BrokerRetentionBytes < 0 {
		bad("--broker-retention-bytes must not be negative")
	}
	return errors.Join(errs...)
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
