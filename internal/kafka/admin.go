package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/config"
)

// Errors of topic administration, to test with errors.Is.
var (
	ErrTopicExists   = errors.New("topic already exists")
	ErrTopicNotFound = errors.New("topic not found")
)

// PingTimeout bounds Ping when its context has no earlier deadline.
const PingTimeout = 3 * time.Second

// Admin manages topics and reads consumer-group offsets.
type Admin struct {
	cl   *kgo.Client
	adm  *kadm.Client
	opts []kgo.Opt // the connection options, for readers of its own
	log  *slog.Logger
	sasl string // the SASL mechanism in use, for clearer connection errors
}

// NewAdmin connects an admin client to the cluster cfg names. Its
// metrics are labelled client=admin.
func NewAdmin(cfg config.Kafka, log *slog.Logger, reg prometheus.Registerer) (*Admin, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "kafka_admin")
	opts, err := ClientOpts(cfg)
	if err != nil {
		return nil, fmt.Errorf("new Kafka admin: %w", err)
	}
	conn := append(append([]kgo.Opt(nil), opts...), LoggerOpt(log))
	opts = append(opts, kgo.ClientID("pulse-admin"), LoggerOpt(log))
	opts = append(opts, MetricsOpt(reg, "admin")...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("new Kafka admin for %v: %w", cfg.Brokers(), err)
	}
	return &Admin{cl: cl, adm: kadm.NewClient(cl), opts: conn, log: log, sasl: cfg.Security.SASLMechanism}, nil
}

// Close closes the client.
func (a *Admin) Close() { a.cl.Close() }

// Ping sends a metadata request and reports whether a broker answered
// within PingTimeout.
func (a *Admin) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, PingTimeout)
	defer cancel()
	if err := a.cl.Ping(ctx); err != nil {
		return explainConnErr(fmt.Errorf("ping Kafka: %w", err), a.sasl)
	}
	return nil
}

// fresh makes kadm's metadata calls skip the client's metadata cache, so
// that a topic just created or deleted shows as such. (kadm bypasses the
// cache when authorized operations are requested.)
func fresh(ctx context.Context) context.Context { return kadm.WithAuthorizedOps(ctx) }

// TopicInfo is a topic in a listing.
type TopicInfo struct {
	Name              string `json:"name"`
	Partitions        int    `json:"partitions"`
	ReplicationFactor int    `json:"replication_factor"`
}

// ListTopics returns the cluster's topics, internal ones left out, sorted
// by name.
func (a *Admin) ListTopics(ctx context.Context) ([]TopicInfo, error) {
	details, err := a.adm.ListTopics(fresh(ctx))
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	out := make([]TopicInfo, 0, len(details))
	for _, name := range details.Names() {
		d := details[name]
		ti := TopicInfo{Name: name, Partitions: len(d.Partitions)}
		for _, p := range d.Partitions {
			ti.ReplicationFactor = max(ti.ReplicationFactor, len(p.Replicas))
		}
		out = append(out, ti)
	}
	return out, nil
}

// CreateTopic creates a topic; ErrTopicExists if it is there already.
func (a *Admin) CreateTopic(ctx context.Context, name string, partitions int32, replicationFactor int16) error {
	resp, err := a.adm.CreateTopic(ctx, partitions, replicationFactor, nil, name)
	if err == nil {
		err = resp.Err
	}
	switch {
	case errors.Is(err, kerr.TopicAlreadyExists):
		return fmt.Errorf("create topic %s: %w", name, ErrTopicExists)
	case err != nil:
		return fmt.Errorf("create topic %s with %d partitions, replication factor %d: %w", name, partitions, replicationFactor, err)
	}
	a.log.Info("created topic", "topic", name, "partitions", partitions, "replication_factor", replicationFactor)
	return nil
}

// EnsureTopics creates the topics (name to partition count) that do not
// exist yet and returns the names it created. Existing topics are left
// as they are, so it is safe to call at every start.
func (a *Admin) EnsureTopics(ctx context.Context, topics map[string]int32, replicationFactor int16) ([]string, error) {
	details, err := a.adm.ListTopics(fresh(ctx))
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	var created []string
	for _, name := range slices.Sorted(maps.Keys(topics)) {
		if details.Has(name) {
			continue
		}
		err := a.CreateTopic(ctx, name, topics[name], replicationFactor)
		if errors.Is(err, ErrTopicExists) {
			continue // created meanwhile by another process
		}
		if err != nil {
			return created, err
		}
		created = append(created, name)
	}
	return created, nil
}

// DeleteTopic deletes a topic; ErrTopicNotFound if there is none.
func (a *Admin) DeleteTopic(ctx context.Context, name string) error {
	resp, err := a.adm.DeleteTopic(ctx, name)
	if err == nil {
		err = resp.Err
	}
	switch {
	case errors.Is(err, kerr.UnknownTopicOrPartition):
		return fmt.Errorf("delete topic %s: %w", name, ErrTopicNotFound)
	case err != nil:
		return fmt.Errorf("delete topic %s: %w", name, err)
	}
	a.log.Info("deleted topic", "topic", name)
	return nil
}

// PartitionInfo describes one partition of a topic and, when a group was
// asked for, how far that group has read it.
type PartitionInfo struct {
	Partition   int32   `json:"partition"`
	Leader      int32   `json:"leader"`
	Replicas    []int32 `json:"replicas"`
	ISR         []int32 `json:"isr"`
	StartOffset int64   `json:"start_offset"`
	EndOffset   int64   `json:"end_offset"`
	// CommittedOffset is the group's next offset to read; -1 when the
	// group has committed nothing on this partition.
	CommittedOffset int64 `json:"committed_offset"`
	// Lag is how many records the group has yet to read.
	Lag int64 `json:"lag"`
}

// TopicDescription is a topic's partitions and a group's progress on them.
type TopicDescription struct {
	Name       string          `json:"name"`
	Group      string          `json:"group,omitempty"`
	Partitions []PartitionInfo `json:"partitions"`
	// Records is the sum over partitions of end minus start offsets.
	Records  int64 `json:"records"`
	TotalLag int64 `json:"total_lag"`
}

// DescribeTopic returns a topic's partitions with their offsets and, when
// group is not empty, the group's committed offset and lag per
// partition. ErrTopicNotFound if there is no such topic.
func (a *Admin) DescribeTopic(ctx context.Context, topic, group string) (TopicDescription, error) {
	details, err := a.adm.ListTopics(fresh(ctx), topic)
	if err != nil {
		return TopicDescription{}, fmt.Errorf("describe topic %s: %w", topic, err)
	}
	d, ok := details[topic]
	if !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
		return TopicDescription{}, fmt.Errorf("describe topic %s: %w", topic, ErrTopicNotFound)
	}
	if d.Err != nil {
		return TopicDescription{}, fmt.Errorf("describe topic %s: %w", topic, d.Err)
	}
	lags, err := a.partitionLags(ctx, group, topic)
	if err != nil {
		return TopicDescription{}, err
	}
	desc := TopicDescription{Name: topic, Group: group}
	for _, p := range d.Partitions.Sorted() {
		l := lags[p.Partition]
		if group == "" {
			l.Lag = 0
		}
		desc.Partitions = append(desc.Partitions, PartitionInfo{
			Partition:       p.Partition,
			Leader:          p.Leader,
			Replicas:        p.Replicas,
			ISR:             p.ISR,
			StartOffset:     l.start,
			EndOffset:       l.EndOffset,
			CommittedOffset: l.CommittedOffset,
			Lag:             l.Lag,
		})
		desc.Records += l.EndOffset - l.start
		desc.TotalLag += l.Lag
	}
	return desc, nil
}

// PartitionLag is a group's progress on one partition, in the shape of
// /api/consumer_metrics/.
type PartitionLag struct {
	Partition int32 `json:"partition"`
	// CommittedOffset is -1 when the group committed nothing here.
	CommittedOffset int64 `json:"committed_offset"`
	EndOffset       int64 `json:"end_offset"`
	Lag             int64 `json:"lag"`
	// Member is the client id of the member that owns the partition,
	// empty when none does.
	Member string `json:"member,omitempty"`

	start int64
}

// GroupMember is one member of a consumer group.
type GroupMember struct {
	MemberID   string  `json:"member_id"`
	InstanceID string  `json:"instance_id,omitempty"`
	ClientID   string  `json:"client_id"`
	Host       string  `json:"host"`
	Partitions []int32 `json:"partitions"`
}

// GroupLag is a consumer group's state on one topic.
type GroupLag struct {
	Group      string         `json:"group"`
	Topic      string         `json:"topic"`
	State      string         `json:"state"`
	Members    []GroupMember  `json:"members"`
	Partitions []PartitionLag `json:"partitions"`
	TotalLag   int64          `json:"total_lag"`
}

// GroupLag returns the group's members (with their partitions of topic),
// and per partition its committed offset, end offset and lag. A group
// that does not exist yet has no members and lags by every record.
func (a *Admin) GroupLag(ctx context.Context, group, topic string) (GroupLag, error) {
	lags, err := a.partitionLags(ctx, group, topic)
	if err != nil {
		return GroupLag{}, err
	}
	out := GroupLag{Group: group, Topic: topic, Members: []GroupMember{}, Partitions: []PartitionLag{}}
	owner := make(map[int32]string)
	described, err := a.adm.DescribeGroups(ctx, group)
	if err != nil {
		return GroupLag{}, fmt.Errorf("describe group %s: %w", group, err)
	}
	if g, ok := described[group]; ok && g.Err == nil {
		out.State = g.State
		for _, m := range g.Members {
			gm := GroupMember{MemberID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost, Partitions: []int32{}}
			if m.InstanceID != nil {
				gm.InstanceID = *m.InstanceID
			}
			if c, ok := m.Assigned.AsConsumer(); ok {
				for _, t := range c.Topics {
					if t.Topic == topic {
						gm.Partitions = append(gm.Partitions, t.Partitions...)
					}
				}
			}
			slices.Sort(gm.Partitions)
			for _, p := range gm.Partitions {
				owner[p] = gm.ClientID
			}
			out.Members = append(out.Members, gm)
		}
	} else if ok && !errors.Is(g.Err, kerr.GroupIDNotFound) {
		return GroupLag{}, fmt.Errorf("describe group %s: %w", group, g.Err)
	}
	if out.State == "" {
		out.State = "Dead"
	}
	for _, p := range sortedKeys(lags) {
		l := lags[p]
		l.Member = owner[p]
		out.Partitions = append(out.Partitions, l)
		out.TotalLag += l.Lag
	}
	return out, nil
}

func sortedKeys(m map[int32]PartitionLag) []int32 {
	keys := make([]int32, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}

// partitionLags reads start, end and (for a non-empty group) committed
// offsets of every partition of topic.
func (a *Admin) partitionLags(ctx context.Context, group, topic string) (map[int32]PartitionLag, error) {
	starts, err := a.adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("list start offsets of %s: %w", topic, err)
	}
	if err := starts.Error(); err != nil {
		if errors.Is(err, kerr.UnknownTopicOrPartition) {
			return nil, fmt.Errorf("offsets of %s: %w", topic, ErrTopicNotFound)
		}
		return nil, fmt.Errorf("list start offsets of %s: %w", topic, err)
	}
	ends, err := a.adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("list end offsets of %s: %w", topic, err)
	}
	if err := ends.Error(); err != nil {
		return nil, fmt.Errorf("list end offsets of %s: %w", topic, err)
	}
	var committed kadm.OffsetResponses
	if group != "" {
		committed, err = a.adm.FetchOffsetsForTopics(ctx, group, topic)
		if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
			return nil, fmt.Errorf("fetch offsets of group %s: %w", group, err)
		}
	}
	out := make(map[int32]PartitionLag)
	ends.Each(func(o kadm.ListedOffset) {
		l := PartitionLag{Partition: o.Partition, EndOffset: o.Offset, CommittedOffset: -1}
		if s, ok := starts.Lookup(topic, o.Partition); ok {
			l.start = s.Offset
		}
		if c, ok := committed.Lookup(topic, o.Partition); ok && c.Err == nil && c.At >= 0 {
			l.CommittedOffset = c.At
		}
		from := l.CommittedOffset
		if from < l.start {
			// Nothing committed, or the commit points at deleted
			// records: the group will read from the log start.
			from = l.start
		}
		l.Lag = max(0, l.EndOffset-from)
		out[o.Partition] = l
	})
	return out, nil
}
