package config

import (
	"flag"
	"net/url"
	"strings"
	"time"
)

// Key is one setting. Each is declared once, below: its flag, its
// environment variables, its help, whether it is secret, the Config
// field it fills and its check. Flags, the environment and .env lookup,
// --help, Validate, Redacted and LogAttrs all come from that
// declaration.
type Key struct{ *setting }

// setting is the declaration behind a Key.
type setting struct {
	flag string
	// env lists the environment variables that set it; the first one
	// set wins.
	env   []string
	usage string
	// secret says how Redacted and LogAttrs show the value.
	secret secrecy
	// field is the setting's field in a Config, as a flag.Value.
	field func(*Config) flag.Value
	// check reports what is wrong with the value, if anything, to bad,
	// which prefixes the flag; nil accepts any value. Checks that
	// involve several settings are in Validate.
	check func(v flag.Value, bad badf)
}

// badf reports one problem with a setting, as fmt.Sprintf formats it.
type badf = func(format string, args ...any)

// is adapts checks of a value of type T, the type the setting's field
// holds, to a setting's check.
func is[T any](checks ...func(v T, bad badf)) func(flag.Value, badf) {
	return func(v flag.Value, bad badf) {
		x := v.(flag.Getter).Get().(T)
		for _, c := range checks {
			c(x, bad)
		}
	}
}

// secrecy says how a setting's value appears in logs.
type secrecy int

const (
	// public values are shown as they are.
	public secrecy = iota
	// secret values are shown as *** when set.
	secret
	// secretURL values are URLs shown with the password hidden.
	secretURL
)

// table is every setting in declaration order. declare appends to it
// while the package's variables are initialised; nothing changes it
// afterwards.
var table []Key

func declare(s setting) Key {
	k := Key{&s}
	table = append(table, k)
	return k
}

// logKey is the setting's name in Redacted and LogAttrs: its flag in
// snake_case.
func (s *setting) logKey() string { return strings.ReplaceAll(s.flag, "-", "_") }

// shown is the value of the setting in c as logs may show it.
func (s *setting) shown(c *Config) string {
	v := s.field(c).String()
	switch s.secret {
	case secret:
		return mask(v)
	case secretURL:
		// A value that does not parse as a URL might still hold a
		// password: hide all of it.
		u, err := url.Parse(v)
		if err != nil {
			return mask(v)
		}
		return u.Redacted()
	}
	return v
}

// The settings, in the order of the Config tree; Redacted and LogAttrs
// list them in this order.
var (
	DataDir = declare(setting{flag: "data-dir", env: []string{"PULSE_DATA_DIR"}, usage: "directory for the SQLite database and the embedded broker's log", field: strField(func(c *Config) *string { return &c.DataDir }), check: is(notEmpty)})

	// HTTP: the API server.
	Addr         = declare(setting{flag: "addr", env: []string{"PULSE_ADDR"}, usage: "HTTP listen address", field: strField(func(c *Config) *string { return &c.HTTP.Addr }), check: is(hostPort)})
	AllowedHosts = declare(setting{flag: "allowed-hosts", env: []string{"ALLOWED_HOSTS"},
		usage: "Host headers the server answers, comma separated, as Django's ALLOWED_HOSTS (.example.com: it and its subdomains; *: any); loopback names and the listen address are always allowed; also the origins allowed for CORS and WebSocket",
		field: strField(func(c *Config) *string { return &c.HTTP.AllowedHosts })})
	TrustedProxies = declare(setting{flag: "trusted-proxies", env: []string{"PULSE_TRUSTED_PROXIES"}, usage: "reverse proxies (CIDRs or IPs, comma separated) whose X-Forwarded-For, Forwarded or X-Real-IP name the client for rate limits, WebSocket caps and logs (empty: none; the peer is the client)",
		field: strField(func(c *Config) *string { return &c.HTTP.TrustedProxies }), check: is(cidrList)})
	AdminToken = declare(setting{flag: "admin-token", env: []string{"PULSE_ADMIN_TOKEN", "SECRET_KEY"}, secret: secret,
		usage: "a Bearer token with the admin role, for scripts and a first start beyond loopback before any account exists",
		field: strField(func(c *Config) *string { return &c.HTTP.AdminToken })})
	Auth = declare(setting{flag: "auth", env: []string{"PULSE_AUTH"},
		usage: "who may use the server: auto (open to this machine until an account exists; beyond loopback or through a proxy, a signed-in account or a token) or required (a signed-in account or a token, always)",
		field: strField(func(c *Config) *string { return &c.HTTP.Auth }), check: is(authMode)})
	MetricsToken = declare(setting{flag: "metrics-token", env: []string{"PULSE_METRICS_TOKEN"}, secret: secret,
		usage: "Bearer token that lets a scraper read /metrics when sign-in is needed (an operator's API token works too)",
		field: strField(func(c *Config) *string { return &c.HTTP.MetricsToken })})
	IngestRate = declare(setting{flag: "ingest-rate", env: []string{"PULSE_INGEST_RATE"}, usage: "HTTP ingest requests per second allowed per client IP, bursts of twice that (0: no limit); a batch counts once",
		field: intField(func(c *Config) *int { return &c.HTTP.IngestRate }), check: is(notNegative[int])})
	CollectClientRate = declare(setting{flag: "collect-client-rate", env: []string{"PULSE_COLLECT_CLIENT_RATE"}, usage: "POST /api/collect requests per second allowed per client IP, bursts of twice that (0: no limit)",
		field: intField(func(c *Config) *int { return &c.HTTP.CollectClientRate }), check: is(notNegative[int])})
	CollectKeyRate = declare(setting{flag: "collect-key-rate", env: []string{"PULSE_COLLECT_KEY_RATE"}, usage: "POST /api/collect requests per second allowed per source (write key), bursts of twice that (0: no limit)",
		field: intField(func(c *Config) *int { return &c.HTTP.CollectKeyRate }), check: is(notNegative[int])})
	TrackerPath = declare(setting{flag: "tracker-path", env: []string{"PULSE_TRACKER_PATH"}, usage: "where the tracker script pulse.js is served, for a neutral first-party path",
		field: strField(func(c *Config) *string { return &c.HTTP.TrackerPath }), check: is(trackerPath)})
	MaxConnsPerIP = declare(setting{flag: "max-conns-per-ip", env: []string{"PULSE_MAX_CONNS_PER_IP"}, usage: "HTTP connections (WebSockets included) one client address may hold; past it new ones get 429; trusted proxies are exempt (0: no limit)",
		field: intField(func(c *Config) *int { return &c.HTTP.MaxConnsPerIP }), check: is(notNegative[int])})

	// OIDC: sign-in through an OpenID Connect provider.
	OIDCIssuer = declare(setting{flag: "oidc-issuer", env: []string{"PULSE_OIDC_ISSUER"}, usage: "OpenID Connect provider's issuer URL, for \"Sign in with\" it (empty: email and password only)",
		field: strField(func(c *Config) *string { return &c.OIDC.Issuer }), check: is(oidcURL)})
	OIDCClientID = declare(setting{flag: "oidc-client-id", env: []string{"PULSE_OIDC_CLIENT_ID"}, usage: "Pulse's client id at the OpenID provider",
		field: strField(func(c *Config) *string { return &c.OIDC.ClientID })})
	OIDCClientSecret = declare(setting{flag: "oidc-client-secret", env: []string{"PULSE_OIDC_CLIENT_SECRET"}, secret: secret, usage: "Pulse's client secret at the OpenID provider (empty: a public client, PKCE alone)",
		field: strField(func(c *Config) *string { return &c.OIDC.ClientSecret })})
	OIDCRedirectURL = declare(setting{flag: "oidc-redirect-url", env: []string{"PULSE_OIDC_REDIRECT_URL"}, usage: "public URL of Pulse's callback, registered at the provider: https://<host>/api/auth/oidc/callback/",
		field: strField(func(c *Config) *string { return &c.OIDC.RedirectURL }), check: is(oidcRedirect)})
	OIDCName = declare(setting{flag: "oidc-name", env: []string{"PULSE_OIDC_NAME"}, usage: "the provider's name on the sign-in button (default: the issuer's host)",
		field: strField(func(c *Config) *string { return &c.OIDC.Name })})
	OIDCScopes = declare(setting{flag: "oidc-scopes", env: []string{"PULSE_OIDC_SCOPES"}, usage: "scopes asked of the provider, comma separated (openid always); add groups for providers that need it for the groups claim",
		field: strField(func(c *Config) *string { return &c.OIDC.Scopes }), check: is(scopeList)})
	OIDCRolesClaim = declare(setting{flag: "oidc-roles-claim", env: []string{"PULSE_OIDC_ROLES_CLAIM"}, usage: "claim of the ID token or userinfo whose values --oidc-role-map maps to roles: a string or an array of strings; a.b for a nested one",
		field: strField(func(c *Config) *string { return &c.OIDC.RolesClaim }), check: is(notEmpty)})
	OIDCRoleMap = declare(setting{flag: "oidc-role-map", env: []string{"PULSE_OIDC_ROLE_MAP"}, usage: "the claim's values to roles, such as pulse-admins=admin,pulse-ops=operator,*=viewer; the highest match wins, * is anyone the provider signs in, no match is refused",
		field: strField(func(c *Config) *string { return &c.OIDC.RoleMap }), check: is(roleMap)})

	// Live: the bus between servers and the WebSocket hub.
	RedisURL = declare(setting{flag: "redis-url", env: []string{"REDIS_URL"}, secret: secretURL,
		usage: "Redis for live updates shared by several servers (empty: in-process)",
		field: strField(func(c *Config) *string { return &c.Live.RedisURL }), check: is(redisURL)})
	WSMaxClients = declare(setting{flag: "ws-max-clients", env: []string{"PULSE_WS_MAX_CLIENTS"}, usage: "WebSocket connections a server holds; past it upgrades get 503",
		field: intField(func(c *Config) *int { return &c.Live.WSMaxClients }), check: is(atLeast(1))})
	WSMaxClientsPerIP = declare(setting{flag: "ws-max-clients-per-ip", env: []string{"PULSE_WS_MAX_CLIENTS_PER_IP"}, usage: "WebSocket connections one client address may hold; past it upgrades get 429",
		field: intField(func(c *Config) *int { return &c.Live.WSMaxClientsPerIP }), check: is(atLeast(1))})

	// Kafka: the cluster, the topics, the group and the clients' security.
	BootstrapServers  = declare(setting{flag: "bootstrap-servers", env: []string{"KAFKA_BOOTSTRAP_SERVERS"}, usage: "Kafka brokers, comma separated", field: strField(func(c *Config) *string { return &c.Kafka.BootstrapServers }), check: is(hostPorts)})
	Topic             = declare(setting{flag: "topic", env: []string{"KAFKA_TOPIC_USER_EVENTS"}, usage: "topic of user events", field: strField(func(c *Config) *string { return &c.Kafka.Topic }), check: is(topicName)})
	DLQTopic          = declare(setting{flag: "dlq-topic", env: []string{"KAFKA_TOPIC_DLQ"}, usage: "dead-letter topic", field: strField(func(c *Config) *string { return &c.Kafka.DLQTopic }), check: is(topicName)})
	Partitions        = declare(setting{flag: "partitions", env: []string{"KAFKA_PARTITIONS"}, usage: "partitions of a created topic", field: intField(func(c *Config) *int { return &c.Kafka.Partitions }), check: is(atLeast(1))})
	ReplicationFactor = declare(setting{flag: "replication-factor", env: []string{"KAFKA_REPLICATION_FACTOR"}, usage: "replication factor of a created topic", field: intField(func(c *Config) *int { return &c.Kafka.ReplicationFactor }), check: is(atLeast(1))})
	ConsumerGroup     = declare(setting{flag: "consumer-group", env: []string{"KAFKA_CONSUMER_GROUP"}, usage: "consumer group", field: strField(func(c *Config) *string { return &c.Kafka.Group }), check: is(notEmpty)})
	ConsumerID        = declare(setting{flag: "consumer-id", env: []string{"PULSE_CONSUMER_ID"}, usage: "this consumer's id (default: host name and process id)", field: strField(func(c *Config) *string { return &c.Kafka.ConsumerID })})
	Compression       = declare(setting{flag: "compression", env: []string{"KAFKA_COMPRESSION"}, usage: "producer compression: snappy, lz4, zstd, gzip or none",
		field: strField(func(c *Config) *string { return &c.Kafka.Compression }), check: is(compressionName)})
	KafkaSASLMechanism = declare(setting{flag: "kafka-sasl-mechanism", env: []string{"KAFKA_SASL_MECHANISM"}, usage: "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (empty: no SASL)",
		field: strField(func(c *Config) *string { return &c.Kafka.Security.SASLMechanism }), check: is(saslMechanism)})
	KafkaSASLUsername = declare(setting{flag: "kafka-sasl-username", env: []string{"KAFKA_SASL_USERNAME"}, usage: "SASL user",
		field: strField(func(c *Config) *string { return &c.Kafka.Security.SASLUsername })})
	KafkaSASLPassword = declare(setting{flag: "kafka-sasl-password", env: []string{"KAFKA_SASL_PASSWORD"}, usage: "SASL password", secret: secret,
		field: strField(func(c *Config) *string { return &c.Kafka.Security.SASLPassword })})
	KafkaTLS = declare(setting{flag: "kafka-tls", env: []string{"KAFKA_TLS"}, usage: "connect to Kafka with TLS",
		field: boolField(func(c *Config) *bool { return &c.Kafka.Security.TLS })})
	KafkaTLSCA = declare(setting{flag: "kafka-tls-ca", env: []string{"KAFKA_TLS_CA"}, usage: "PEM file of the CA that signed the brokers' certificates",
		field: strField(func(c *Config) *string { return &c.Kafka.Security.TLSCA })})
	KafkaTLSCert = declare(setting{flag: "kafka-tls-cert", env: []string{"KAFKA_TLS_CERT"}, usage: "PEM certificate: the client's (the broker's own for pulse broker)",
		field: strField(func(c *Config) *string { return &c.Kafka.Security.TLSCert })})
	KafkaTLSKey = declare(setting{flag: "kafka-tls-key", env: []string{"KAFKA_TLS_KEY"}, usage: "PEM key of --kafka-tls-cert",
		field: strField(func(c *Config) *string { return &c.Kafka.Security.TLSKey })})
	KafkaTLSInsecureSkipVerify = declare(setting{flag: "kafka-tls-insecure-skip-verify", env: []string{"KAFKA_TLS_INSECURE_SKIP_VERIFY"}, usage: "do not verify the brokers' certificates (testing only)",
		field: boolField(func(c *Config) *bool { return &c.Kafka.Security.TLSInsecureSkipVerify })})

	// Broker: the embedded broker.
	BrokerAddr           = declare(setting{flag: "broker-addr", env: []string{"PULSE_BROKER_ADDR"}, usage: "listen address of the embedded broker", field: strField(func(c *Config) *string { return &c.Broker.Addr }), check: is(hostPort)})
	BrokerAdvertisedAddr = declare(setting{flag: "broker-advertised-addr", env: []string{"PULSE_BROKER_ADVERTISED_ADDR"}, usage: "embedded broker: host:port clients are told to connect to (required when --broker-addr is a wildcard such as 0.0.0.0; default: --broker-addr)",
		field: strField(func(c *Config) *string { return &c.Broker.AdvertisedAddr }), check: is(advertisedAddr)})
	BrokerRetention = declare(setting{flag: "broker-retention", env: []string{"PULSE_BROKER_RETENTION"}, usage: "embedded broker: delete log records older than this (0: keep)",
		field: durField(func(c *Config) *time.Duration { return &c.Broker.Retention }), check: is(notNegative[time.Duration])})
	BrokerRetentionBytes = declare(setting{flag: "broker-retention-bytes", env: []string{"PULSE_BROKER_RETENTION_BYTES"}, usage: "embedded broker: keep at most this much log per partition, such as 512MiB, oldest records deleted first (0: no limit)",
		field: sizeField(func(c *Config) *int64 { return &c.Broker.RetentionBytes }), check: is(notNegative[int64])})

	// Pipeline: this process's consumers.
	Consumers = declare(setting{flag: "consumers", env: []string{"PULSE_CONSUMERS"}, usage: "consumer group members to run in-process (0: none)", field: intField(func(c *Config) *int { return &c.Pipeline.Consumers }), check: is(between(0, 64))})
	Simulate  = declare(setting{flag: "simulate", env: []string{"PULSE_SIMULATE"}, usage: "honour the events' delay_seconds and should_fail",
		field: boolField(func(c *Config) *bool { return &c.Pipeline.Simulate })})
	RetryBase = declare(setting{flag: "retry-base", env: []string{"PULSE_RETRY_BASE"}, usage: "wait before the first retry of a failed event; each further retry doubles it, up to --retry-max, and a wait is drawn between half and all of its step (jitter)",
		field: durField(func(c *Config) *time.Duration { return &c.Pipeline.RetryBase }), check: is(positive[time.Duration])})
	RetryMax = declare(setting{flag: "retry-max", env: []string{"PULSE_RETRY_MAX"}, usage: "longest wait between two attempts of a failed event (at least --retry-base)",
		field: durField(func(c *Config) *time.Duration { return &c.Pipeline.RetryMax }), check: is(positive[time.Duration])})
	StoreBehind = declare(setting{flag: "store-behind", env: []string{"PULSE_STORE_BEHIND"}, usage: "when the consumer group committed offsets past what the store holds (database deleted, emptied or restored from an older copy): refuse to start, reprocess (move the group back to what the store holds, and store again what Kafka still has) or ignore",
		field: strField(func(c *Config) *string { return &c.Pipeline.StoreBehind }), check: is(storeBehind)})

	// Store: the database.
	DatabaseURL = declare(setting{flag: "database-url", env: []string{"DATABASE_URL"}, secret: secretURL,
		usage: "postgres:// URL or SQLite file (default: <data-dir>/pulse.db, or PostgreSQL from DB_NAME/DB_USER/DB_PASSWORD/DB_HOST/DB_PORT)",
		field: strField(func(c *Config) *string { return &c.Store.DatabaseURL }), check: is(databaseURL)})
	AuditRetention = declare(setting{flag: "audit-retention", env: []string{"PULSE_AUDIT_RETENTION"}, usage: "delete audit log entries older than this (0: keep)",
		field: durField(func(c *Config) *time.Duration { return &c.Store.AuditRetention }), check: is(notNegative[time.Duration])})
	RetentionMaxAge = declare(setting{flag: "retention-max-age", env: []string{"PULSE_RETENTION_MAX_AGE"}, usage: "delete stored events older than this (0: keep)",
		field: durField(func(c *Config) *time.Duration { return &c.Store.RetentionMaxAge }), check: is(notNegative[time.Duration])})
	RetentionMaxRows = declare(setting{flag: "retention-max-rows", env: []string{"PULSE_RETENTION_MAX_ROWS"}, usage: "keep at most this many stored events (0: no limit)",
		field: int64Field(func(c *Config) *int64 { return &c.Store.RetentionMaxRows }), check: is(notNegative[int64])})

	// Alerts.
	AlertsFile = declare(setting{flag: "alerts-file", env: []string{"PULSE_ALERTS_FILE"}, usage: "alert rules file (YAML or JSON) evaluated beside the console's rules; a bad file refuses to start (see docs/alerts.md)",
		field: strField(func(c *Config) *string { return &c.Alerts.File })})
	AlertsInterval = declare(setting{flag: "alerts-interval", env: []string{"PULSE_ALERTS_INTERVAL"}, usage: "how often the alert rules are evaluated",
		field: durField(func(c *Config) *time.Duration { return &c.Alerts.Interval }), check: is(alertsInterval)})
	AlertsAllowNet = declare(setting{flag: "alerts-allow-net", env: []string{"PULSE_ALERTS_ALLOW_NET"}, usage: "CIDRs (comma separated) webhooks may reach besides the public internet, such as 127.0.0.1/32 for a receiver on this host or 10.0.0.0/8 for an internal chat proxy (empty: none; loopback, private, link-local and other non-public addresses are refused)",
		field: strField(func(c *Config) *string { return &c.Alerts.AllowNet }), check: is(cidrList)})

	// Log.
	LogFormat = declare(setting{flag: "log-format", env: []string{"PULSE_LOG_FORMAT"}, usage: "log format: auto (text on a terminal, JSON otherwise), text or json",
		field: strField(func(c *Config) *string { return &c.Log.Format }), check: is(logFormat)})
	LogLevel = declare(setting{flag: "log-level", env: []string{"PULSE_LOG_LEVEL"}, usage: "log level: debug, info, warn or error (DEBUG=True sets debug)",
		field: strField(func(c *Config) *string { return &c.Log.Level }), check: is(logLevel)})
)
