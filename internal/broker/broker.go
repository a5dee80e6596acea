// Package broker runs Pulse's embedded Kafka-protocol broker: franz-go's
// kfake, persisted on disk, so that `pulse serve` needs no Kafka install
// while every client still speaks the real protocol. It is the only
// package that imports kfake.
package broker

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Topic is a topic the broker creates when it does not exist yet.
type Topic struct {
	Name       string
	Partitions int32
}

// User is a SASL account of the broker. Mechanism is PLAIN,
// SCRAM-SHA-256 or SCRAM-SHA-512.
type User struct {
	Mechanism string
	Name      string
	Password  string
}

// Config says where the broker listens and keeps its data.
type Config struct {
	// Addr is the host:port to listen on; port 0 picks a free one. The
	// broker advertises this address to clients unless AdvertisedAddr is
	// set.
	Addr string
	// AdvertisedAddr is the host:port the broker tells clients to
	// connect to, in metadata: needed when Addr is a wildcard such as
	// 0.0.0.0, which no client can connect to.
	AdvertisedAddr string
	// DataDir is Pulse's data directory; the broker keeps its log in the
	// "kafka" folder below it so that a restart finds topics, records
	// and committed offsets again. Empty keeps everything in memory.
	DataDir string
	// Topics are created at start when absent; existing ones are kept as
	// they are.
	Topics []Topic
	// SyncWrites fsyncs every produced batch: slower, but nothing
	// acknowledged is lost on a crash.
	SyncWrites bool
	// Retention deletes records older than this, and RetentionBytes a
	// partition's oldest records beyond that size (0: no bound). kfake
	// holds an index entry in memory for every record batch in its log,
	// so these bound the broker's memory as well as its disk.
	Retention      time.Duration
	RetentionBytes int64
	// RetentionCheck is how often retention is applied (0: every
	// minute).
	RetentionCheck time.Duration
	// Users enables SASL with these superusers. Empty: no SASL.
	Users []User
	// TLS, when set, makes the broker accept only TLS connections.
	TLS *tls.Config
}

// Broker is a running embedded broker.
type Broker struct {
	cluster *kfake.Cluster
	addr    string
	log     *slog.Logger
	once    sync.Once
}

// Start starts the broker and creates the configured topics that do not
// exist yet. ctx bounds the topic creation, not the broker's life: the
// broker runs until Close.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (*Broker, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "broker")
	addr := cmp.Or(cfg.Addr, "127.0.0.1:0")
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("broker address %q: %w", addr, err)
	}
	if a := cfg.AdvertisedAddr; a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("broker advertised address %q: %w", a, err)
		}
	}

	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.WithLogger(slogAdapter{log}),
		kfake.ClusterID("pulse"),
		// kfake's own listener binds 127.0.0.1 on the port it is given;
		// this binds the host we were asked for instead, and keeps
		// accepting through errors that pass (see listener).
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			ln, err := net.Listen(network, addr)
			if err != nil {
				return nil, err
			}
			var advertised net.Addr
			if cfg.AdvertisedAddr != "" {
				advertised = hostPort(cfg.AdvertisedAddr)
			}
			return newListener(ln, advertised, log), nil
		}),
	}
	var kafkaDir string
	if cfg.DataDir != "" {
		kafkaDir = filepath.Join(cfg.DataDir, "kafka")
		opts = append(opts, kfake.DataDir(kafkaDir))
	}
	if cfg.SyncWrites {
		opts = append(opts, kfake.SyncWrites())
	}
	// Broker-wide, for topics that users create; the configured topics
	// also get them as their own configs in ensureTopics, which is what
	// starts kfake's retention ticker.
	check := cfg.RetentionCheck
	if check <= 0 {
		check = time.Minute
	}
	retention := retentionConfigs(cfg)
	opts = append(opts, kfake.BrokerConfigs(map[string]string{
		"log.retention.ms":       retention["retention.ms"],
		"log.retention.bytes":    retention["retention.bytes"],
		"log.cleaner.backoff.ms": strconv.FormatInt(check.Milliseconds(), 10),
	}))
	for _, t := range cfg.Topics {
		// Seeded only into a fresh data directory; kfake ignores seeds
		// when it loads persisted state.
		opts = append(opts, kfake.SeedTopics(t.Partitions, t.Name))
	}
	if len(cfg.Users) > 0 {
		opts = append(opts, kfake.EnableSASL())
		for _, u := range cfg.Users {
			opts = append(opts, kfake.Superuser(u.Mechanism, u.Name, u.Password))
		}
	}
	if cfg.TLS != nil {
		opts = append(opts, kfake.TLS(cfg.TLS))
	}

	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		if kafkaDir != "" {
			return nil, fmt.Errorf("start embedded broker on %s with data in %s: %w", addr, kafkaDir, err)
		}
		return nil, fmt.Errorf("start embedded broker on %s: %w", addr, err)
	}
	addrs := cluster.ListenAddrs()
	if len(addrs) == 0 {
		cluster.Close()
		return nil, errors.New("start embedded broker: no listener")
	}
	b := &Broker{cluster: cluster, addr: addrs[0], log: log}
	if err := b.ensureTopics(ctx, cfg); err != nil {
		b.Close()
		return nil, err
	}
	log.Info("embedded broker listening", "addr", b.addr, "bind", addr, "data_dir", kafkaDir, "sasl", len(cfg.Users) > 0, "tls", cfg.TLS != nil)
	return b, nil
}

// Addr returns the host:port the broker advertises: where it listens,
// or the advertised address.
func (b *Broker) Addr() string { return b.addr }

// Close stops the broker and writes its state to disk. It is safe to call
// more than once.
func (b *Broker) Close() {
	b.once.Do(func() {
		b.cluster.Close()
		b.log.Info("embedded broker stopped", "addr", b.addr)
	})
}

// retentionConfigs are the topic configs that carry cfg's retention,
// in Kafka's terms (-1: no bound).
func retentionConfigs(cfg Config) map[string]string {
	ms, bytes := int64(-1), int64(-1)
	if cfg.Retention > 0 {
		ms = max(cfg.Retention.Milliseconds(), 1)
	}
	if cfg.RetentionBytes > 0 {
		bytes = cfg.RetentionBytes
	}
	return map[string]string{"retention.ms": strconv.FormatInt(ms, 10), "retention.bytes": strconv.FormatInt(bytes, 10)}
}

// ensureTopics creates configured topics that a loaded data directory
// lacks (added to the configuration since, or deleted by a user), and
// gives every configured topic the retention of cfg, so that a changed
// setting applies to a log that already exists.
func (b *Broker) ensureTopics(ctx context.Context, cfg Config) error {
	if len(cfg.Topics) == 0 {
		return nil
	}
	opts := []kgo.Opt{kgo.SeedBrokers(b.addr), kgo.DialTimeout(5 * time.Second)}
	if len(cfg.Users) > 0 {
		m, err := mechanism(cfg.Users[0])
		if err != nil {
			return err
		}
		opts = append(opts, kgo.SASL(m))
	}
	if cfg.TLS != nil {
		// The broker's own certificate may name another host; this
		// connection only goes to ourselves.
		opts = append(opts, kgo.DialTLSConfig(&tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})) //nolint:gosec // loopback to ourselves
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("embedded broker admin client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	existing, err := adm.ListTopics(ctx)
	if err != nil {
		return fmt.Errorf("list topics of embedded broker: %w", err)
	}
	retention := retentionConfigs(cfg)
	var alter []kadm.AlterConfig
	for name, v := range retention {
		alter = append(alter, kadm.AlterConfig{Op: kadm.SetConfig, Name: name, Value: &v})
	}
	for _, t := range cfg.Topics {
		if existing.Has(t.Name) {
			resps, err := adm.AlterTopicConfigs(ctx, alter, t.Name)
			if err == nil {
				var r kadm.AlterConfigsResponse
				r, err = resps.On(t.Name, nil)
				if err == nil {
					err = r.Err
				}
			}
			if err != nil {
				return fmt.Errorf("set retention of topic %s on embedded broker: %w", t.Name, err)
			}
			continue
		}
		configs := make(map[string]*string, len(retention))
		for name, v := range retention {
			configs[name] = &v
		}
		resp, err := adm.CreateTopic(ctx, t.Partitions, 1, configs, t.Name)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s on embedded broker: %w", t.Name, err)
		}
		b.log.Info("created topic", "topic", t.Name, "partitions", t.Partitions)
	}
	return nil
}

func mechanism(u User) (sasl.Mechanism, error) {
	switch u.Mechanism {
	case "PLAIN":
		return plain.Auth{User: u.Name, Pass: u.Password}.AsMechanism(), nil
	case "SCRAM-SHA-256":
		return scram.Auth{User: u.Name, Pass: u.Password}.AsSha256Mechanism(), nil
	case "SCRAM-SHA-512":
		return scram.Auth{User: u.Name, Pass: u.Password}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("SASL mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", u.Mechanism)
}

// slogAdapter passes kfake's warnings and errors to slog. kfake logs
// every request at info level, which would drown Pulse's own logs, so
// those are dropped before they are formatted.
type slogAdapter struct{ log *slog.Logger }

func (a slogAdapter) Logf(level kfake.LogLevel, format string, args ...any) {
	var l slog.Level
	switch level {
	case kfake.LogLevelError:
		l = slog.LevelError
	case kfake.LogLevelWarn:
		l = slog.LevelWarn
	default:
		return
	}
	if !a.log.Enabled(context.Background(), l) {
		return
	}
	a.log.Log(context.Background(), l, fmt.Sprintf(format, args...))
}
