package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// env is a fake process environment.
type env map[string]string

func (e env) lookup(k string) (string, bool) { v, ok := e[k]; return v, ok }

func writeEnvFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func parse(t *testing.T, e env, envFile string, args []string, keys ...Key) (Config, *FlagSet, error) {
	t.Helper()
	if envFile == "" {
		envFile = filepath.Join(t.TempDir(), "missing.env")
	}
	cfg := Default()
	var out bytes.Buffer
	fs := NewFlagSet("test", "Test command.", &cfg, &out, Options{EnvFile: envFile, LookupEnv: e.lookup})
	fs.Add(keys...)
	_, err := fs.Parse(args)
	return cfg, fs, err
}

func TestPrecedence(t *testing.T) {
	file := writeEnvFile(t, "KAFKA_TOPIC_USER_EVENTS=from_file\nKAFKA_CONSUMER_GROUP=file_group\nPULSE_CONSUMERS=7\n")
	e := env{"KAFKA_TOPIC_USER_EVENTS": "from_env", "PULSE_CONSUMERS": "5"}
	keys := []Key{Topic, ConsumerGroup, Consumers, Partitions, DLQTopic}

	cfg, fs, err := parse(t, e, file, []string{"--consumers", "2"}, keys...)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		got    any
		want   any
		source string
		key    Key
	}{
		{"flag beats env and file", cfg.Pipeline.Consumers, 2, "flag", Consumers},
		{"env beats file", cfg.Kafka.Topic, "from_env", "env:KAFKA_TOPIC_USER_EVENTS", Topic},
		{"file beats default", cfg.Kafka.Group, "file_group", "env:KAFKA_CONSUMER_GROUP", ConsumerGroup},
		{"default", cfg.Kafka.Partitions, 3, "default", Partitions},
		{"default string", cfg.Kafka.DLQTopic, "user_events_dlq", "default", DLQTopic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
			if s := fs.Source(tt.key); s != tt.source {
				t.Errorf("source %q, want %q", s, tt.source)
			}
		})
	}
}

func TestUnregisteredSettingsIgnoreEnvironment(t *testing.T) {
	cfg, _, err := parse(t, env{"PULSE_ADDR": "0.0.0.0:1"}, "", nil, Topic)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Addr != "127.0.0.1:8000" {
		t.Errorf("Addr = %q, want the default", cfg.HTTP.Addr)
	}
}

func TestEnvFileHandling(t *testing.T) {
	t.Run("missing file is fine", func(t *testing.T) {
		if _, _, err := parse(t, env{}, filepath.Join(t.TempDir(), "nope"), nil, Topic); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("quotes and comments", func(t *testing.T) {
		file := writeEnvFile(t, "# comment\nREDIS_URL=\"redis://localhost:6379/1\" # trailing\nexport ALLOWED_HOSTS='a.example,b.example'\n")
		cfg, _, err := parse(t, env{}, file, nil, RedisURL, AllowedHosts)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Live.RedisURL != "redis://localhost:6379/1" {
			t.Errorf("RedisURL = %q", cfg.Live.RedisURL)
		}
		if got := cfg.HTTP.Origins(); len(got) != 2 || got[1] != "b.example" {
			t.Errorf("Origins = %q", got)
		}
	})
	t.Run("a bad value names the variable", func(t *testing.T) {
		_, _, err := parse(t, env{"KAFKA_PARTITIONS": "three"}, "", nil, Partitions)
		if err == nil || !strings.Contains(err.Error(), "KAFKA_PARTITIONS") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unreadable file is an error", func(t *testing.T) {
		dir := t.TempDir() // a directory cannot be read as a file
		if _, _, err := parse(t, env{}, dir, nil, Topic); err == nil {
			t.Fatal("want an error")
		}
	})
}

func TestAdminTokenFallsBackToSecretKey(t *testing.T) {
	cfg, _, err := parse(t, env{"SECRET_KEY": "s3"}, "", nil, AdminToken)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.AdminToken != "s3" {
		t.Errorf("AdminToken = %q", cfg.HTTP.AdminToken)
	}
	cfg, _, _ = parse(t, env{"SECRET_KEY": "s3", "PULSE_ADMIN_TOKEN": "tok"}, "", nil, AdminToken)
	if cfg.HTTP.AdminToken != "tok" {
		t.Errorf("AdminToken = %q, want PULSE_ADMIN_TOKEN to win", cfg.HTTP.AdminToken)
	}
}

func TestDebugSetsLogLevel(t *testing.T) {
	tests := []struct {
		env  env
		args []string
		want string
	}{
		{env{"DEBUG": "True"}, nil, "debug"},
		{env{"DEBUG": "False"}, nil, "info"},
		{env{"DEBUG": "True", "PULSE_LOG_LEVEL": "warn"}, nil, "warn"},
		{env{"DEBUG": "True"}, []string{"--log-level=error"}, "error"},
	}
	for _, tt := range tests {
		cfg, _, err := parse(t, tt.env, "", tt.args, LogKeys()...)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Log.Level != tt.want {
			t.Errorf("env %v args %v: level %q, want %q", tt.env, tt.args, cfg.Log.Level, tt.want)
		}
	}
}

func TestDatabaseURL(t *testing.T) {
	tests := []struct {
		name       string
		env        env
		args       []string
		wantURL    string
		wantDriver string
	}{
		{"default sqlite under data dir", env{}, []string{"--data-dir", "/var/pulse"}, "/var/pulse/pulse.db", DriverSQLite},
		{"seed DB_* variables", env{"DB_NAME": "kafka_dashboard", "DB_USER": "app", "DB_PASSWORD": "p@ss word", "DB_HOST": "db.local", "DB_PORT": "6543"},
			nil, "postgres://app:p%40ss%20word@db.local:6543/kafka_dashboard", DriverPostgres},
		{"DB_HOST alone takes the seed's defaults", env{"DB_HOST": "db"}, nil, "postgres://postgres@db:5432/kafka_dashboard", DriverPostgres},
		{"DATABASE_URL wins over DB_*", env{"DATABASE_URL": "postgresql://u@h/d", "DB_HOST": "db"}, nil, "postgresql://u@h/d", DriverPostgres},
		{"flag wins", env{"DATABASE_URL": "postgres://u@h/d"}, []string{"--database-url", "sqlite:///tmp/x.db"}, "sqlite:///tmp/x.db", DriverSQLite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := parse(t, tt.env, "", tt.args, DataDir, DatabaseURL)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Store.DatabaseURL != tt.wantURL {
				t.Errorf("DatabaseURL = %q, want %q", cfg.Store.DatabaseURL, tt.wantURL)
			}
			if d, _ := cfg.Store.Database(); d != tt.wantDriver {
				t.Errorf("driver %q, want %q", d, tt.wantDriver)
			}
		})
	}
	c := Config{Store: Store{DatabaseURL: "sqlite:///tmp/x.db"}}
	if _, dsn := c.Store.Database(); dsn != "/tmp/x.db" {
		t.Errorf("dsn %q", dsn)
	}
}

func TestValidate(t *testing.T) {
	valid := func() Config {
		c := Default()
		c.Store.DatabaseURL = "data/pulse.db"
		return c
	}
	if c := valid(); c.Validate() != nil {
		t.Fatalf("defaults invalid: %v", c.Validate())
	}
	tests := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"partitions", func(c *Config) { c.Kafka.Partitions = 0 }, "--partitions must be ≥ 1"},
		{"replication", func(c *Config) { c.Kafka.ReplicationFactor = 0 }, "--replication-factor must be ≥ 1"},
		{"addr", func(c *Config) { c.HTTP.Addr = "8000" }, "--addr"},
		{"bootstrap", func(c *Config) { c.Kafka.BootstrapServers = "a:1,broker" }, `--bootstrap-servers entry "broker"`},
		{"topic", func(c *Config) { c.Kafka.Topic = "bad topic" }, "--topic"},
		{"same topics", func(c *Config) { c.Kafka.DLQTopic = c.Kafka.Topic }, "--dlq-topic must differ"},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, "--log-format"},
		{"log level", func(c *Config) { c.Log.Level = "loud" }, "--log-level"},
		{"compression", func(c *Config) { c.Kafka.Compression = "brotli" }, "--compression"},
		{"sasl mechanism", func(c *Config) { c.Kafka.Security.SASLMechanism = "GSSAPI"; c.Kafka.Security.SASLUsername = "u" }, "--kafka-sasl-mechanism must be"},
		{"sasl user", func(c *Config) { c.Kafka.Security.SASLMechanism = "PLAIN" }, "needs --kafka-sasl-username"},
		{"tls pair", func(c *Config) { c.Kafka.Security.TLSCert = "c.pem" }, "--kafka-tls-cert and --kafka-tls-key"},
		{"redis scheme", func(c *Config) { c.Live.RedisURL = "http://x" }, "--redis-url"},
		{"retention", func(c *Config) { c.Store.RetentionMaxAge = -time.Second }, "--retention-max-age"},
		{"retry base", func(c *Config) { c.Pipeline.RetryBase = 0 }, "--retry-base must be above 0"},
		{"retry max", func(c *Config) { c.Pipeline.RetryMax = 500 * time.Millisecond }, "--retry-max 500ms must not be below --retry-base 1s"},
		{"oidc client id", func(c *Config) { oidc(c); c.OIDC.ClientID = "" }, "--oidc-issuer needs --oidc-client-id"},
		{"oidc redirect", func(c *Config) { oidc(c); c.OIDC.RedirectURL = "" }, "--oidc-issuer needs --oidc-redirect-url"},
		{"oidc role map", func(c *Config) { oidc(c); c.OIDC.RoleMap = "" }, "--oidc-issuer needs --oidc-role-map"},
		{"oidc without issuer", func(c *Config) { c.OIDC.ClientID = "pulse" }, "--oidc-client-id needs --oidc-issuer"},
		{"oidc http issuer", func(c *Config) { oidc(c); c.OIDC.Issuer = "http://idp.example.com" }, "--oidc-issuer \"http://idp.example.com\" must use https"},
		{"oidc relative issuer", func(c *Config) { oidc(c); c.OIDC.Issuer = "idp.example.com" }, "--oidc-issuer \"idp.example.com\" must be an absolute https:// URL"},
		{"oidc redirect path", func(c *Config) { oidc(c); c.OIDC.RedirectURL = "https://pulse.example.com/callback" }, "must end with /api/auth/oidc/callback/"},
		{"oidc role", func(c *Config) { oidc(c); c.OIDC.RoleMap = "ops=root" }, `--oidc-role-map entry "ops=root": role "root" is not one of`},
		{"oidc rule", func(c *Config) { oidc(c); c.OIDC.RoleMap = "admin" }, `--oidc-role-map entry "admin" is not value=role`},
		{"oidc roles claim", func(c *Config) { oidc(c); c.OIDC.RolesClaim = "" }, "--oidc-roles-claim must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.modify(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	t.Run("all problems at once", func(t *testing.T) {
		c := valid()
		c.Kafka.Partitions, c.Kafka.ReplicationFactor = 0, 0
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), "--partitions") || !strings.Contains(err.Error(), "--replication-factor") {
			t.Fatalf("err = %v", err)
		}
	})
}

// oidc configures OpenID Connect sign-in validly.
func oidc(c *Config) {
	c.OIDC.Issuer, c.OIDC.ClientID = "https://idp.example.com/realms/x", "pulse"
	c.OIDC.RedirectURL, c.OIDC.RoleMap = "https://pulse.example.com/api/auth/oidc/callback/", "pulse-admins=admin"
}

func TestOIDCSettings(t *testing.T) {
	c := Default()
	c.Store.DatabaseURL = "data/pulse.db"
	oidc(&c)
	if err := c.Validate(); err != nil {
		t.Fatalf("valid OIDC settings: %v", err)
	}
	c.OIDC.Issuer = "http://127.0.0.1:5556/dex"
	if err := c.Validate(); err != nil {
		t.Fatalf("http issuer on loopback: %v", err)
	}
	if got := c.OIDC.ScopeList(); !slices.Equal(got, []string{"openid", "email", "profile"}) {
		t.Errorf("default scopes %v", got)
	}
	c.OIDC.Scopes = "email groups, openid"
	if got := c.OIDC.ScopeList(); !slices.Equal(got, []string{"openid", "email", "groups"}) {
		t.Errorf("scopes %q: %v", c.OIDC.Scopes, got)
	}
	for in, want := range map[string][]RoleRule{
		"pulse-admins=admin, pulse-ops=Operator,*=viewer": {{"pulse-admins", "admin"}, {"pulse-ops", "operator"}, {"*", "viewer"}},
		"cn=admins,ou=groups,dc=example=admin; *=viewer":  {{"cn=admins,ou=groups,dc=example", "admin"}, {"*", "viewer"}},
		"":                nil,
		"x=boss,y=viewer": {{"y", "viewer"}},
	} {
		c.OIDC.RoleMap = in
		if got := c.OIDC.RoleRules(); !slices.Equal(got, want) {
			t.Errorf("role map %q: %v, want %v", in, got, want)
		}
	}
}

func TestRedacted(t *testing.T) {
	c := Default()
	c.Store.DatabaseURL = "postgres://app:hunter2@db:5432/pulse"
	c.Live.RedisURL = "redis://:redispw@cache:6379/0"
	c.HTTP.AdminToken = "tok-secret"
	c.Kafka.Security.SASLMechanism, c.Kafka.Security.SASLUsername, c.Kafka.Security.SASLPassword = "PLAIN", "alice", "saslpw"
	out := c.Redacted()
	for _, secret := range []string{"hunter2", "redispw", "tok-secret", "saslpw"} {
		if strings.Contains(out, secret) {
			t.Errorf("Redacted leaks %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{"database_url=postgres://app:xxxxx@db:5432/pulse", "kafka_sasl_username=alice", "admin_token=***"} {
		if !strings.Contains(out, want) {
			t.Errorf("Redacted lacks %q:\n%s", want, out)
		}
	}
	if got := RedactURL("postgres://u@h/d"); got != "postgres://u@h/d" {
		t.Errorf("RedactURL without password = %q", got)
	}
	attrs := c.LogAttrs()
	if len(attrs)%2 != 0 {
		t.Fatalf("LogAttrs has odd length %d", len(attrs))
	}
}

// TestEverySecretRedacted gives every setting a value of its own and
// checks that Redacted and LogAttrs show each public one and no secret
// one: a new setting is covered as soon as it is declared.
func TestEverySecretRedacted(t *testing.T) {
	var c Config
	values := make(map[Key]string)
	for i, k := range table {
		v := k.field(&c)
		var s string
		switch v.(type) {
		case boolValue:
			s = "true"
		case intValue, int64Value:
			s = strconv.Itoa(7000 + i)
		case durValue:
			s = (time.Duration(7000+i) * time.Second).String()
		case sizeValue:
			s = strconv.Itoa(7000+i) + "KiB"
		case strValue:
			s = fmt.Sprintf("value-of-%s", k.flag)
			if k.secret == secretURL {
				s = fmt.Sprintf("postgres://user:password-of-%s@host:5432/db", k.flag)
			}
		default:
			t.Fatalf("--%s: no test value for %T", k.flag, v)
		}
		if err := v.Set(s); err != nil {
			t.Fatalf("--%s=%s: %v", k.flag, s, err)
		}
		values[k] = v.String()
	}
	attrs := c.LogAttrs()
	if len(attrs) != 2*len(table) {
		t.Fatalf("LogAttrs has %d entries for %d settings", len(attrs), len(table))
	}
	var logged strings.Builder
	for i := 0; i < len(attrs); i += 2 {
		fmt.Fprintf(&logged, "%v=%v\n", attrs[i], attrs[i+1])
	}
	for name, out := range map[string]string{"Redacted": c.Redacted(), "LogAttrs": logged.String()} {
		for _, k := range table {
			line := k.logKey() + "=" + values[k] + "\n"
			switch k.secret {
			case public:
				if !strings.Contains(out, line) {
					t.Errorf("%s lacks %q", name, line)
				}
			case secret:
				if strings.Contains(out, values[k]) {
					t.Errorf("%s leaks --%s", name, k.flag)
				}
				if !strings.Contains(out, k.logKey()+"=***\n") {
					t.Errorf("%s does not show --%s as ***", name, k.flag)
				}
			case secretURL:
				if strings.Contains(out, "password-of-"+k.flag) {
					t.Errorf("%s leaks the password of --%s", name, k.flag)
				}
				if want := k.logKey() + "=postgres://user:xxxxx@host:5432/db\n"; !strings.Contains(out, want) {
					t.Errorf("%s lacks %q", name, want)
				}
			}
		}
	}
}

func TestHelpShowsDefaultsAndEnv(t *testing.T) {
	cfg := Default()
	var out bytes.Buffer
	fs := NewFlagSet("produce", "Send events.", &cfg, &out, Options{EnvFile: filepath.Join(t.TempDir(), "x"), LookupEnv: env{}.lookup})
	fs.Add(Topic, Partitions, BootstrapServers, KafkaTLS)
	if err := fs.SetDefault(BootstrapServers, "127.0.0.1:9092"); err != nil {
		t.Fatal(err)
	}
	fs.Flags().Int("batch-size", 100, "events per batch")
	_, err := fs.Parse([]string{"--help"})
	if !errors.Is(err, ErrHelp) {
		t.Fatalf("err = %v, want ErrHelp", err)
	}
	help := out.String()
	for _, want := range []string{
		"Usage: pulse produce", "Send events.",
		`--topic string`, `(default "user_events"; env KAFKA_TOPIC_USER_EVENTS)`,
		`--partitions int`, `(default "3"; env KAFKA_PARTITIONS)`,
		`(default "127.0.0.1:9092"; env KAFKA_BOOTSTRAP_SERVERS)`,
		"--kafka-tls\n", `--batch-size int`, `(default "100")`,
	} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
	if cfg.Kafka.BootstrapServers != "127.0.0.1:9092" {
		t.Errorf("SetDefault did not set the value: %q", cfg.Kafka.BootstrapServers)
	}
	if err := fs.SetDefault(Addr, "x"); err == nil {
		t.Error("SetDefault of an unregistered setting should fail")
	}
}

func TestUsageError(t *testing.T) {
	_, _, err := parse(t, env{}, "", []string{"--no-such-flag"}, Topic)
	if !IsUsage(err) {
		t.Fatalf("err = %v, want a UsageError", err)
	}
	_, _, err = parse(t, env{"KAFKA_PARTITIONS": "x"}, "", nil, Partitions)
	if err == nil || IsUsage(err) {
		t.Fatalf("err = %v, want a non-usage error", err)
	}
}

func TestDurationInDays(t *testing.T) {
	cfg, _, err := parse(t, env{"PULSE_RETENTION_MAX_AGE": "7d"}, "", []string{"--retention-max-rows=1000"}, RetentionMaxAge, RetentionMaxRows)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Store.RetentionMaxAge != 7*24*time.Hour || cfg.Store.RetentionMaxRows != 1000 {
		t.Errorf("got %v %d", cfg.Store.RetentionMaxAge, cfg.Store.RetentionMaxRows)
	}
}

func TestSizes(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1048576": 1 << 20, "512MiB": 512 << 20, "1GiB": 1 << 30, " 2 TiB ": 2 << 40, "10KiB": 10 << 10, "7B": 7} {
		cfg, _, err := parse(t, env{"PULSE_BROKER_RETENTION_BYTES": in}, "", nil, BrokerRetentionBytes)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if cfg.Broker.RetentionBytes != want {
			t.Errorf("%q = %d, want %d", in, cfg.Broker.RetentionBytes, want)
		}
	}
	for _, in := range []string{"1GB", "lots", "1.5GiB", "9000000000TiB", ""} {
		_, _, err := parse(t, nil, "", []string{"--broker-retention-bytes=" + in}, BrokerRetentionBytes)
		if err == nil || !strings.Contains(err.Error(), "is not a size") {
			t.Errorf("%q: err = %v, want one saying it is not a size", in, err)
		}
	}
	cfg := Default()
	cfg.Broker.RetentionBytes = -1
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "--broker-retention-bytes") {
		t.Errorf("negative retention bytes: err = %v", err)
	}
	if got := (sizeValue{&cfg.Broker.RetentionBytes}).String(); got != "-1B" {
		t.Errorf("String() of -1 = %q", got)
	}
}

func TestEnvExampleParses(t *testing.T) {
	cfg, _, err := parse(t, env{}, filepath.Join("..", "..", "env.example"), nil, table...)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("env.example does not validate: %v", err)
	}
	want := Default()
	want.Store.DatabaseURL = DefaultDatabaseURL(want.DataDir)
	if cfg != want {
		t.Errorf("env.example differs from the defaults:\n%s\nwant\n%s", cfg.Redacted(), want.Redacted())
	}
}

func TestDefaultConsumerID(t *testing.T) {
	id := DefaultConsumerID()
	if id == "" || !strings.Contains(id, "-") {
		t.Errorf("DefaultConsumerID = %q", id)
	}
}

func TestTrustedProxies(t *testing.T) {
	cfg := Default()
	cfg.HTTP.TrustedProxies = "10.0.0.0/8, 127.0.0.1 ,::1,not-an-ip,10.0.0.0/99"
	err := cfg.Validate()
	for _, bad := range []string{`"not-an-ip"`, `"10.0.0.0/99"`} {
		if err == nil || !strings.Contains(err.Error(), "--trusted-proxies entry "+bad) {
			t.Errorf("err = %v, want one naming %s", err, bad)
		}
	}
	var got []string
	for _, p := range cfg.HTTP.Proxies() {
		got = append(got, p.String())
	}
	if want := "10.0.0.0/8 127.0.0.1/32 ::1/128"; strings.Join(got, " ") != want {
		t.Errorf("Proxies() = %v, want %s", got, want)
	}
}

// A bad --alerts-allow-net entry refuses to start, naming the setting and
// the entry; the good ones are the webhooks' allowed ranges.
func TestAlertsAllowNet(t *testing.T) {
	cfg := Default()
	cfg.Alerts.AllowNet = "127.0.0.1/32, 10.0.0.0/8,fd00::1 ,localhost,10.0.0.0/33"
	err := cfg.Validate()
	for _, bad := range []string{`"localhost"`, `"10.0.0.0/33"`} {
		if err == nil || !strings.Contains(err.Error(), "--alerts-allow-net entry "+bad+" is not a CIDR") {
			t.Errorf("err = %v, want one naming %s", err, bad)
		}
	}
	var got []string
	for _, p := range cfg.Alerts.AllowedNets() {
		got = append(got, p.String())
	}
	if want := "127.0.0.1/32 10.0.0.0/8 fd00::1/128"; strings.Join(got, " ") != want {
		t.Errorf("AllowedNets() = %v, want %s", got, want)
	}
	fromEnv, _, err := parse(t, env{"PULSE_ALERTS_ALLOW_NET": "192.168.0.0/16"}, "", nil, AlertsAllowNet)
	if err != nil || fromEnv.Alerts.AllowNet != "192.168.0.0/16" || fromEnv.Validate() != nil {
		t.Errorf("from the environment: %q, %v", fromEnv.Alerts.AllowNet, err)
	}
}

func TestEmbeddedBrokerBeyondLoopback(t *testing.T) {
	for _, tc := range []struct {
		name       string
		addr, adv  string
		sasl       string
		bootstrap  string
		wantErrors []string
	}{
		{"loopback", "127.0.0.1:9092", "", "", "", nil},
		{"localhost", "localhost:9092", "", "", "", nil},
		{"wildcard without anything", "0.0.0.0:9092", "", "", "", []string{"--broker-advertised-addr", "--kafka-sasl-mechanism"}},
		{"empty host", ":9092", "", "PLAIN", "", []string{"--broker-advertised-addr"}},
		{"IPv6 wildcard", "[::]:9092", "kafka.example:9092", "", "", []string{"--kafka-sasl-mechanism"}},
		{"wildcard with both", "0.0.0.0:9092", "kafka.example:9092", "PLAIN", "", nil},
		{"one interface, no SASL", "192.0.2.10:9092", "", "", "", []string{"without authentication"}},
		{"bad advertised", "0.0.0.0:9092", "kafka.example", "PLAIN", "", []string{"--broker-advertised-addr \"kafka.example\" must be host:port"}},
		{"advertised port 0", "0.0.0.0:9092", "kafka.example:0", "PLAIN", "", []string{"needs a port"}},
		{"a cluster: no embedded broker", "0.0.0.0:9092", "", "", "kafka:9092", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Default()
			cfg.Broker.Addr, cfg.Broker.AdvertisedAddr, cfg.Kafka.BootstrapServers = tc.addr, tc.adv, tc.bootstrap
			if tc.sasl != "" {
				cfg.Kafka.Security.SASLMechanism, cfg.Kafka.Security.SASLUsername, cfg.Kafka.Security.SASLPassword = tc.sasl, "pulse", "pw"
			}
			err := cfg.Validate()
			if len(tc.wantErrors) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			for _, want := range tc.wantErrors {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("err = %v, want one naming %s", err, want)
				}
			}
		})
	}
}

func TestRetryBackoff(t *testing.T) {
	// The default shows retries as the seed did: about 1, 2 and 4 s.
	if d := Default().Pipeline; d.RetryBase != time.Second || d.RetryMax != 5*time.Second {
		t.Fatalf("default backoff %s..%s, want 1s..5s", d.RetryBase, d.RetryMax)
	}
	cfg, _, err := parse(t, env{"PULSE_RETRY_BASE": "100ms"}, "", []string{"--retry-max", "2s"}, RetryBase, RetryMax)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Pipeline.RetryBase != 100*time.Millisecond || cfg.Pipeline.RetryMax != 2*time.Second {
		t.Fatalf("backoff %s..%s", cfg.Pipeline.RetryBase, cfg.Pipeline.RetryMax)
	}
}
