package rewindtest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/record"
)

// Records is how many records each partition of Cluster holds.
const Records = 10

// Cluster starts an embedded broker with the default topic's 3
// partitions of Records records each and the control topic of rewinds,
// and the default group committed at the end of every partition while it
// had no members. It returns the Kafka settings that reach it and its
// address.
func Cluster(t *testing.T) (config.Kafka, []string) {
	t.Helper()
	kc := config.Default().Kafka
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0),
		kfake.SeedTopics(3, kc.Topic), kfake.SeedTopics(1, record.RewindTopic(kc.Topic)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	kc.BootstrapServers = strings.Join(cluster.ListenAddrs(), ",")
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rs []*kgo.Record
	var os kadm.Offsets
	for p := range int32(3) {
		for i := range Records {
			rs = append(rs, &kgo.Record{Topic: kc.Topic, Partition: p, Key: fmt.Appendf(nil, "k%d", i), Value: []byte("{}")})
		}
		os.AddOffset(kc.Topic, p, Records, -1)
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if resp, err := kadm.NewClient(cl).CommitOffsets(ctx, kc.Group, os); err != nil || resp.Error() != nil {
		t.Fatalf("commit: %v %v", err, resp.Error())
	}
	return kc, cluster.ListenAddrs()
}
