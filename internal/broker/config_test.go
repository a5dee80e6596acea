package broker

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pulse-dev/pulse/internal/config"
)

func TestFromConfig(t *testing.T) {
	cfg := config.Default()
	cfg.Broker.AdvertisedAddr = "kafka.example:9092"
	cfg.Kafka.Partitions = 6
	bc, err := FromConfig("/var/pulse", cfg.Broker, cfg.Kafka)
	if err != nil {
		t.Fatal(err)
	}
	want := []Topic{{Name: "user_events", Partitions: 6}, {Name: "user_events_dlq", Partitions: 6}}
	if bc.Addr != cfg.Broker.Addr || bc.AdvertisedAddr != "kafka.example:9092" || bc.DataDir != "/var/pulse" ||
		!slices.Equal(bc.Topics, want) || bc.Retention != cfg.Broker.Retention || bc.RetentionBytes != cfg.Broker.RetentionBytes ||
		bc.Users != nil || bc.TLS != nil || bc.SyncWrites {
		t.Errorf("FromConfig = %+v", bc)
	}

	cfg.Kafka.Security = config.KafkaSecurity{SASLMechanism: "SCRAM-SHA-256", SASLUsername: "pulse", SASLPassword: "pw"}
	if bc, err = FromConfig("", cfg.Broker, cfg.Kafka); err != nil {
		t.Fatal(err)
	}
	if want := []User{{Mechanism: "SCRAM-SHA-256", Name: "pulse", Password: "pw"}}; !slices.Equal(bc.Users, want) {
		t.Errorf("Users = %+v, want %+v", bc.Users, want)
	}

	missing := filepath.Join(t.TempDir(), "missing.pem")
	cfg.Kafka.Security = config.KafkaSecurity{TLSCert: missing, TLSKey: missing}
	if _, err := FromConfig("", cfg.Broker, cfg.Kafka); err == nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Errorf("err = %v, want one naming the certificate", err)
	}
}
