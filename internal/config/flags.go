package config

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/joho/godotenv"
)

// Key names one setting.
type Key int

// The settings a subcommand can register.
const (
	Addr Key = iota
	DataDir
	BootstrapServers
	BrokerAddr
	Topic
	DLQTopic
	Partitions
	ReplicationFactor
	Consumers
	ConsumerGroup
	ConsumerID
	DatabaseURL
	RedisURL
	AllowedHosts
	AdminToken
	LogFormat
	LogLevel
	Compression
	KafkaSASLMechanism
	KafkaSASLUsername
	KafkaSASLPassword
	KafkaTLS
	KafkaTLSCA
	KafkaTLSCert
	KafkaTLSKey
	KafkaTLSInsecureSkipVerify
	RetentionMaxAge
	RetentionMaxRows
	Simulate
	IngestRate
	BrokerRetention
	BrokerRetentionBytes
	TrustedProxies
	WSMaxClients
	WSMaxClientsPerIP
	BrokerAdvertisedAddr
	MaxConnsPerIP
	StoreBehind
	numKeys
)

// KafkaKeys are the settings every Kafka client needs: where the brokers
// are and how to authenticate. Producers add Compression.
func KafkaKeys() []Key {
	return []Key{
		BootstrapServers,
		KafkaSASLMechanism, KafkaSASLUsername, KafkaSASLPassword,
		KafkaTLS, KafkaTLSCA, KafkaTLSCert, KafkaTLSKey, KafkaTLSInsecureSkipVerify,
	}
}

// LogKeys are the logging settings.
func LogKeys() []Key { return []Key{LogFormat, LogLevel} }

// setting describes one Key: its flag, environment variables (the first
// one set wins), help text, and the Config field it fills.
type setting struct {
	flag  string
	env   []string
	usage string
	field func(*Config) flag.Value
}

func settings() [numKeys]setting {
	return [numKeys]setting{
		Addr:              {"addr", []string{"PULSE_ADDR"}, "HTTP listen address", strField(func(c *Config) *string { return &c.Addr })},
		DataDir:           {"data-dir", []string{"PULSE_DATA_DIR"}, "directory for the SQLite database and the embedded broker's log", strField(func(c *Config) *string { return &c.DataDir })},
		BootstrapServers:  {"bootstrap-servers", []string{"KAFKA_BOOTSTRAP_SERVERS"}, "Kafka brokers, comma separated", strField(func(c *Config) *string { return &c.BootstrapServers })},
		BrokerAddr:        {"broker-addr", []string{"PULSE_BROKER_ADDR"}, "listen address of the embedded broker", strField(func(c *Config) *string { return &c.BrokerAddr })},
		Topic:             {"topic", []string{"KAFKA_TOPIC_USER_EVENTS"}, "topic of user events", strField(func(c *Config) *string { return &c.Topic })},
		DLQTopic:          {"dlq-topic", []string{"KAFKA_TOPIC_DLQ"}, "dead-letter topic", strField(func(c *Config) *string { return &c.DLQTopic })},
		Partitions:        {"partitions", []string{"KAFKA_PARTITIONS"}, "partitions of a created topic", intField(func(c *Config) *int { return &c.Partitions })},
		ReplicationFactor: {"replication-factor", []string{"KAFKA_REPLICATION_FACTOR"}, "replication factor of a created topic", intField(func(c *Config) *int { return &c.ReplicationFactor })},
		Consumers:         {"consumers", []string{"PULSE_CONSUMERS"}, "consumer group members to run in-process (0: none)", intField(func(c *Config) *int { return &c.Consumers })},
		ConsumerGroup:     {"consumer-group", []string{"KAFKA_CONSUMER_GROUP"}, "consumer group", strField(func(c *Config) *string { return &c.ConsumerGroup })},
		ConsumerID:        {"consumer-id", []string{"PULSE_CONSUMER_ID"}, "this consumer's id (default: host name and process id)", strField(func(c *Config) *string { return &c.ConsumerID })},
		DatabaseURL:       {"database-url", []string{"DATABASE_URL"}, "postgres:// URL or SQLite file (default: <data-dir>/pulse.db, or PostgreSQL from DB_NAME/DB_USER/DB_PASSWORD/DB_HOST/DB_PORT)", strField(func(c *Config) *string { return &c.DatabaseURL })},
		RedisURL:          {"redis-url", []string{"REDIS_URL"}, "Redis for live updates shared by several servers (empty: in-process)", strField(func(c *Config) *string { return &c.RedisURL })},
		AllowedHosts:      {"allowed-hosts", []string{"ALLOWED_HOSTS"}, "Host headers the server answers, comma separated, as Django's ALLOWED_HOSTS (.example.com: it and its subdomains; *: any); loopback names and the listen address are always allowed; also the origins allowed for CORS and WebSocket", strField(func(c *Config) *string { return &c.AllowedHosts })},
		AdminToken:        {"admin-token", []string{"PULSE_ADMIN_TOKEN", "SECRET_KEY"}, "token for admin actions (DLQ replay, load runs), required beyond loopback and behind a proxy", strField(func(c *Config) *string { return &c.AdminToken })},
		LogFormat:         {"log-format", []string{"PULSE_LOG_FORMAT"}, "log format: auto (text on a terminal, JSON otherwise), text or json", strField(func(c *Config) *string { return &c.LogFormat })},
		LogLevel:          {"log-level", []string{"PULSE_LOG_LEVEL"}, "log level: debug, info, warn or error (DEBUG=True sets debug)", strField(func(c *Config) *string { return &c.LogLevel })},
		Compression:       {"compression", []string{"KAFKA_COMPRESSION"}, "producer compression: snappy, lz4, zstd, gzip or none", strField(func(c *Config) *string { return &c.Compression })},
		KafkaSASLMechanism: {"kafka-sasl-mechanism", []string{"KAFKA_SASL_MECHANISM"}, "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (empty: no SASL)",
			strField(func(c *Config) *string { return &c.Kafka.SASLMechanism })},
		KafkaSASLUsername: {"kafka-sasl-username", []string{"KAFKA_SASL_USERNAME"}, "SASL user", strField(func(c *Config) *string { return &c.Kafka.SASLUsername })},
		KafkaSASLPassword: {"kafka-sasl-password", []string{"KAFKA_SASL_PASSWORD"}, "SASL password", strField(func(c *Config) *string { return &c.Kafka.SASLPassword })},
		KafkaTLS:          {"kafka-tls", []string{"KAFKA_TLS"}, "connect to Kafka with TLS", boolField(func(c *Config) *bool { return &c.Kafka.TLS })},
		KafkaTLSCA:        {"kafka-tls-ca", []string{"KAFKA_TLS_CA"}, "PEM file of the CA that signed the brokers' certificates", strField(func(c *Config) *string { return &c.Kafka.TLSCA })},
		KafkaTLSCert:      {"kafka-tls-cert", []string{"KAFKA_TLS_CERT"}, "PEM certificate: the client's (the broker's own for pulse broker)", strField(func(c *Config) *string { return &c.Kafka.TLSCert })},
		KafkaTLSKey:       {"kafka-tls-key", []string{"KAFKA_TLS_KEY"}, "PEM key of --kafka-tls-cert", strField(func(c *Config) *string { return &c.Kafka.TLSKey })},
		KafkaTLSInsecureSkipVerify: {"kafka-tls-insecure-skip-verify", []string{"KAFKA_TLS_INSECURE_SKIP_VERIFY"}, "do not verify the brokers' certificates (testing only)",
			boolField(func(c *Config) *bool { return &c.Kafka.TLSInsecureSkipVerify })},
		RetentionMaxAge:  {"retention-max-age", []string{"PULSE_RETENTION_MAX_AGE"}, "delete stored events older than this (0: keep)", durField(func(c *Config) *time.Duration { return &c.RetentionMaxAge })},
		RetentionMaxRows: {"retention-max-rows", []string{"PULSE_RETENTION_MAX_ROWS"}, "keep at most this many stored events (0: no limit)", int64Field(func(c *Config) *int64 { return &c.RetentionMaxRows })},
		Simulate:         {"simulate", []string{"PULSE_SIMULATE"}, "honour the events' delay_seconds and should_fail", boolField(func(c *Config) *bool { return &c.Simulate })},
		IngestRate: {"ingest-rate", []string{"PULSE_INGEST_RATE"}, "HTTP ingest requests per second allowed per client IP, bursts of twice that (0: no limit); a batch counts once",
			intField(func(c *Config) *int { return &c.IngestRate })},
		BrokerRetention: {"broker-retention", []string{"PULSE_BROKER_RETENTION"}, "embedded broker: delete log records older than this (0: keep)",
			durField(func(c *Config) *time.Duration { return &c.BrokerRetention })},
		BrokerRetentionBytes: {"broker-retention-bytes", []string{"PULSE_BROKER_RETENTION_BYTES"}, "embedded broker: keep at most this much log per partition, such as 512MiB, oldest records deleted first (0: no limit)",
			sizeField(func(c *Config) *int64 { return &c.BrokerRetentionBytes })},
		TrustedProxies: {"trusted-proxies", []string{"PULSE_TRUSTED_PROXIES"}, "reverse proxies (CIDRs or IPs, comma separated) whose X-Forwarded-For, Forwarded or X-Real-IP name the client for rate limits, WebSocket caps and logs (empty: none; the peer is the client)",
			strField(func(c *Config) *string { return &c.TrustedProxies })},
		WSMaxClients: {"ws-max-clients", []string{"PULSE_WS_MAX_CLIENTS"}, "WebSocket connections a server holds; past it upgrades get 503",
			intField(func(c *Config) *int { return &c.WSMaxClients })},
		WSMaxClientsPerIP: {"ws-max-clients-per-ip", []string{"PULSE_WS_MAX_CLIENTS_PER_IP"}, "WebSocket connections one client address may hold; past it upgrades get 429",
			intField(func(c *Config) *int { return &c.WSMaxClientsPerIP })},
		BrokerAdvertisedAddr: {"broker-advertised-addr", []string{"PULSE_BROKER_ADVERTISED_ADDR"}, "embedded broker: host:port clients are told to connect to (required when --broker-addr is a wildcard such as 0.0.0.0; default: --broker-addr)",
			strField(func(c *Config) *string { return &c.BrokerAdvertisedAddr })},
		MaxConnsPerIP: {"max-conns-per-ip", []string{"PULSE_MAX_CONNS_PER_IP"}, "HTTP connections (WebSockets included) one client address may hold; past it new ones get 429; trusted proxies are exempt (0: no limit)",
			intField(func(c *Config) *int { return &c.MaxConnsPerIP })},
		StoreBehind: {"store-behind", []string{"PULSE_STORE_BEHIND"}, "when the consumer group committed offsets past what the store holds (database deleted, emptied or restored from an older copy): refuse to start, reprocess (move the group back to what the store holds, and store again what Kafka still has) or ignore",
			strField(func(c *Config) *string { return &c.StoreBehind })},
	}
}

// Options tune where a FlagSet reads the environment from.
type Options struct {
	// EnvFile is the .env file to read; empty means ".env". A missing
	// file is fine.
	EnvFile string
	// LookupEnv reads the real environment; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// FlagSet is a flag.FlagSet whose registered settings also read the
// environment and a .env file.
type FlagSet struct {
	fs      *flag.FlagSet
	cfg     *Config
	opts    Options
	table   [numKeys]setting
	used    []Key
	defs    map[Key]string
	fromEnv map[Key]string // the variable that set a key
	summary string
}

// NewFlagSet returns a FlagSet for the subcommand name that fills cfg.
// summary is the first line of its --help. Usage goes to output.
func NewFlagSet(name, summary string, cfg *Config, output io.Writer, opts Options) *FlagSet {
	f := &FlagSet{
		fs:      flag.NewFlagSet(name, flag.ContinueOnError),
		cfg:     cfg,
		opts:    opts,
		table:   settings(),
		defs:    make(map[Key]string),
		fromEnv: make(map[Key]string),
		summary: summary,
	}
	f.fs.SetOutput(output)
	f.fs.Usage = f.usage
	return f
}

// Flags returns the underlying flag.FlagSet, for subcommand-only flags
// that have no environment variable.
func (f *FlagSet) Flags() *flag.FlagSet { return f.fs }

// Add registers settings. Their current values in cfg are the defaults.
func (f *FlagSet) Add(keys ...Key) {
	for _, k := range keys {
		if k < 0 || k >= numKeys || f.fs.Lookup(f.table[k].flag) != nil {
			continue
		}
		s := f.table[k]
		v := s.field(f.cfg)
		f.fs.Var(v, s.flag, s.usage)
		f.defs[k] = v.String()
		f.used = append(f.used, k)
	}
}

// SetDefault changes the default of a registered setting, for a
// subcommand whose default differs (produce connects to 127.0.0.1:9092
// where serve starts its own broker).
func (f *FlagSet) SetDefault(k Key, value string) error {
	fl := f.fs.Lookup(f.table[k].flag)
	if fl == nil {
		return fmt.Errorf("setting --%s is not registered", f.table[k].flag)
	}
	if err := fl.Value.Set(value); err != nil {
		return fmt.Errorf("default of --%s: %w", fl.Name, err)
	}
	fl.DefValue = value
	f.defs[k] = value
	return nil
}

// ErrHelp is returned by Parse when the user asked for --help; the usage
// has been printed.
var ErrHelp = flag.ErrHelp

// UsageError is a command line that does not parse. The flag package has
// already printed it, with the usage, to the FlagSet's output.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// IsUsage reports whether err is a UsageError.
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}

// Parse resolves the registered settings: the .env file fills variables
// the environment lacks, the environment overrides defaults, and args
// override both. It then derives DatabaseURL and the DEBUG log level and
// returns the positional arguments left.
func (f *FlagSet) Parse(args []string) ([]string, error) {
	lookup, err := f.lookup()
	if err != nil {
		return nil, err
	}
	for _, k := range f.used {
		s := f.table[k]
		for _, name := range s.env {
			val, ok := lookup(name)
			if !ok {
				continue
			}
			if err := f.fs.Lookup(s.flag).Value.Set(strings.TrimSpace(val)); err != nil {
				return nil, fmt.Errorf("environment variable %s=%q: %w", name, val, err)
			}
			f.fromEnv[k] = name
			break
		}
	}
	if err := f.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, &UsageError{Err: err}
	}
	set := make(map[string]bool)
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })

	if f.registered(LogLevel) && !set["log-level"] && f.fromEnv[LogLevel] == "" {
		if d, ok := lookup("DEBUG"); ok && truthy(d) {
			f.cfg.LogLevel = "debug"
		}
	}
	if f.registered(DatabaseURL) && f.cfg.DatabaseURL == "" {
		if u, ok := seedDatabaseURL(lookup); ok {
			f.cfg.DatabaseURL = u
		} else {
			f.cfg.DatabaseURL = DefaultDatabaseURL(f.cfg.DataDir)
		}
	}
	return f.fs.Args(), nil
}

// Source says where a registered setting's value came from: "flag",
// "env:NAME" or "default".
func (f *FlagSet) Source(k Key) string {
	name := f.table[k].flag
	flagged := false
	f.fs.Visit(func(fl *flag.Flag) { flagged = flagged || fl.Name == name })
	switch {
	case flagged:
		return "flag"
	case f.fromEnv[k] != "":
		return "env:" + f.fromEnv[k]
	}
	return "default"
}

func (f *FlagSet) registered(k Key) bool {
	for _, u := range f.used {
		if u == k {
			return true
		}
	}
	return false
}

// lookup reads the real environment first and the .env file second, so
// the file never overrides what the process was given.
func (f *FlagSet) lookup() (func(string) (string, bool), error) {
	env := f.opts.LookupEnv
	if env == nil {
		env = os.LookupEnv
	}
	path := cmp.Or(f.opts.EnvFile, ".env")
	file, err := godotenv.Read(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		file = nil
	}
	return func(name string) (string, bool) {
		if v, ok := env(name); ok {
			return v, true
		}
		v, ok := file[name]
		return v, ok
	}, nil
}

func truthy(s string) bool {
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	return err == nil && b || strings.EqualFold(strings.TrimSpace(s), "yes") || strings.EqualFold(strings.TrimSpace(s), "on")
}

func (f *FlagSet) usage() {
	w := f.fs.Output()
	fmt.Fprintf(w, "Usage: pulse %s [flags]\n\n%s\n\nFlags:\n", f.fs.Name(), f.summary)
	isSetting := make(map[string]Key)
	for _, k := range f.used {
		isSetting[f.table[k].flag] = k
	}
	f.fs.VisitAll(func(fl *flag.Flag) {
		typ := typeName(fl)
		fmt.Fprintf(w, "  --%s%s\n        %s", fl.Name, typ, fl.Usage)
		var notes []string
		if k, ok := isSetting[fl.Name]; ok {
			if d := f.defs[k]; !isZero(d) {
				notes = append(notes, "default "+strconv.Quote(d))
			}
			notes = append(notes, "env "+strings.Join(f.table[k].env, " or "))
		} else if !isZero(fl.DefValue) {
			notes = append(notes, "default "+strconv.Quote(fl.DefValue))
		}
		if len(notes) > 0 {
			fmt.Fprintf(w, " (%s)", strings.Join(notes, "; "))
		}
		fmt.Fprintln(w)
	})
}

// isZero reports a default not worth printing, as the flag package does.
func isZero(s string) bool {
	switch s {
	case "", "0", "false", "0s":
		return true
	}
	return false
}

// typeName is the value placeholder usage prints after a flag name.
func typeName(fl *flag.Flag) string {
	switch fl.Value.(type) {
	case boolValue:
		return ""
	case intValue, int64Value:
		return " int"
	case durValue:
		return " duration"
	case strValue:
		return " string"
	}
	typ, _ := flag.UnquoteUsage(fl)
	if typ != "" {
		typ = " " + typ
	}
	return typ
}

// Value types for the Config fields. Each reports its type name so that
// usage can print "--partitions int".

type strValue struct{ p *string }

func strField(get func(*Config) *string) func(*Config) flag.Value {
	return func(c *Config) flag.Value { return strValue{get(c)} }
}
func (v strValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}
func (v strValue) Set(s string) error { *v.p = s; return nil }
func (v strValue) Get() any           { return *v.p }

type intValue struct{ p *int }

func intField(get func(*Config) *int) func(*Config) flag.Value {
	return func(c *Config) flag.Value { return intValue{get(c)} }
}
func (v intValue) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.Itoa(*v.p)
}
func (v intValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not an integer", s)
	}
	*v.p = n
	return nil
}

type int64Value struct{ p *int64 }

func int64Field(get func(*Config) *int64) func(*Config) flag.Value {
	return func(c *Config) flag.Value { return int64Value{get(c)} }
}
func (v int64Value) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.FormatInt(*v.p, 10)
}
func (v int64Value) Set(s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not an integer", s)
	}
	*v.p = n
	return nil
}

// sizeValue is a byte count, given bare or with a binary unit (KiB,
// MiB, GiB, TiB).
type sizeValue struct{ p *int64 }

var sizeUnits = []struct {
	suffix string
	n      int64
}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

func sizeField(get func(*Config) *int64) func(*Config) flag.Value {
	return func(c *Config) flag.Value { return sizeValue{get(c)} }
}
func (v sizeValue) String() string {
	if v.p == nil || *v.p == 0 {
		return "0"
	}
	for _, u := range sizeUnits {
		if *v.p%u.n == 0 {
			return strconv.FormatInt(*v.p/u.n, 10) + u.suffix
		}
	}
	return strconv.FormatInt(*v.p, 10)
}
func (v sizeValue) Set(s string) error {
	s = strings.TrimSpace(s)
	num, mult := s, int64(1)
	for _, u := range sizeUnits {
		if d, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = strings.TrimSpace(d), u.n
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > math.MaxInt64/mult || n < math.MinInt64/mult {
		return fmt.Errorf("%q is not a size such as 1073741824, 512MiB or 1GiB", s)
	}
	*v.p = n * mult
	return nil
}

type boolValue struct{ p *bool }

func boolField(get func(*Config) *bool) func(*Config) flag.Value {
	return func(c *Config) flag.Value { return boolValue{get(c)} }
}
func (v boolValue) String() string {
	if v.p == nil {
		return "false"
	}
	return strconv.FormatBool(*v.p)
}
func (v boolValue) Set(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "on":
		*v.p = true
		return nil
	case "no", "off", "":
		*v.p = false
		return nil
	}
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not a boolean", s)
	}
	*v.p = b
	return nil
}

// IsBoolFlag lets "--kafka-tls" stand alone without "=true".
func (v boolValue) IsBoolFlag() bool { return true }

type durValue struct{ p *time.Duration }

func durField(get func(*Config) *time.Duration) func(*Config) flag.Value {
	return func(c *Config) flag.Value { return durValue{get(c)} }
}
func (v durValue) String() string {
	if v.p == nil {
		return "0s"
	}
	return v.p.String()
}
func (v durValue) Set(s string) error {
	s = strings.TrimSpace(s)
	// Retention ages are often given in days.
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(d, 64)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 72h or 7d", s)
		}
		*v.p = time.Duration(n * float64(24*time.Hour))
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 72h or 7d", s)
	}
	*v.p = d
	return nil
}
