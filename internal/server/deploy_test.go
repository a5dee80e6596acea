package server

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/pulse-dev/pulse/internal/broker"
	"github.com/pulse-dev/pulse/internal/config"
)

// The alert rules and the dashboard in deploy/ are checked against the
// metrics a real assembly registers: every metric and label they use must
// exist, every expression must be well formed PromQL as far as a
// structural check can tell (balanced brackets, known functions), every
// annotation template must parse.

// serverMetrics returns the metrics a full `pulse serve` assembly
// registers, by name, with their label names.
func serverMetrics(t *testing.T) map[string]map[string]bool {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.HTTP.Addr, cfg.Broker.Addr, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", dir
	bc := broker.Config{Addr: cfg.Broker.Addr, DataDir: dir, Topics: []broker.Topic{
		{Name: cfg.Kafka.Topic, Partitions: 1}, {Name: cfg.Kafka.DLQTopic, Partitions: 1},
	}}
	s, err := New(context.Background(), cfg, Options{HTTP: true, Broker: &bc}, testLogger(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	// Kafka clients register their metrics once they connect.
	if err := s.admin.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.closeResources()
	descs := make(chan *prometheus.Desc, 1024)
	go func() {
		s.reg.Describe(descs)
		close(descs)
	}()
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	constL := regexp.MustCompile(`constLabels: \{([^}]*)\}`)
	varL := regexp.MustCompile(`variableLabels: \{([^}]*)\}`)
	out := make(map[string]map[string]bool)
	for d := range descs {
		str := d.String()
		m := fq.FindStringSubmatch(str)
		if m == nil {
			continue
		}
		labels := map[string]bool{"instance": true, "job": true}
		if c := constL.FindStringSubmatch(str); c != nil && c[1] != "" {
			for _, kv := range strings.Split(c[1], ",") {
				labels[strings.SplitN(kv, "=", 2)[0]] = true
			}
		}
		if v := varL.FindStringSubmatch(str); v != nil && v[1] != "" {
			for _, l := range strings.Split(v[1], ",") {
				labels[strings.TrimSuffix(strings.TrimPrefix(l, "c("), ")")] = true
			}
		}
		out[m[1]] = labels
		// Histograms and summaries expose these series too.
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			l := map[string]bool{"le": true}
			for k := range labels {
				l[k] = true
			}
			out[m[1]+suf] = l
		}
	}
	if len(out) < 40 || out["pulse_consumer_lag_seconds"] == nil || out["pulse_ws_disconnects_total"] == nil {
		t.Fatalf("registered metrics: %d, missing the console's or the hub's", len(out))
	}
	return out
}

var (
	metricRef  = regexp.MustCompile(`\b(pulse_[a-z0-9_]+)\b(\{[^}]*\})?`)
	matcher    = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"`)
	grouping   = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	funcCall   = regexp.MustCompile(`\b([a-z_]+)\s*\(`)
	rangeSel   = regexp.MustCompile(`\[[^\]]*\]`)
	durationRe = regexp.MustCompile(`^\[\d+[smhdw]\]$`)
)

// promqlFuncs are the functions and aggregations the files may use.
var promqlFuncs = map[string]bool{
	"sum": true, "max": true, "min": true, "avg": true, "count": true, "rate": true, "irate": true,
	"increase": true, "histogram_quantile": true, "absent": true, "changes": true, "by": true, "without": true,
	"topk": true, "clamp_min": true, "delta": true, "deriv": true, "time": true,
}

// checkExpr checks one PromQL expression structurally against metrics.
func checkExpr(t *testing.T, where, expr string, metrics map[string]map[string]bool) []string {
	t.Helper()
	if strings.TrimSpace(expr) == "" {
		t.Errorf("%s: empty expression", where)
		return nil
	}
	depth := map[rune]int{}
	pairs := map[rune]rune{')': '(', '}': '{', ']': '['}
	var stack []rune
	inString := false
	for _, r := range expr {
		switch {
		case r == '"':
			inString = !inString
		case inString:
		case r == '(' || r == '{' || r == '[':
			stack = append(stack, r)
			depth[r]++
		case r == ')' || r == '}' || r == ']':
			if len(stack) == 0 || stack[len(stack)-1] != pairs[r] {
				t.Errorf("%s: unbalanced %q in %s", where, r, expr)
				return nil
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 || inString {
		t.Errorf("%s: unclosed bracket or string in %s", where, expr)
	}
	for _, rs := range rangeSel.FindAllString(expr, -1) {
		if !durationRe.MatchString(rs) {
			t.Errorf("%s: range %s is not a duration", where, rs)
		}
	}
	for _, m := range funcCall.FindAllStringSubmatch(expr, -1) {
		if !promqlFuncs[m[1]] && !strings.HasPrefix(m[1], "pulse_") {
			t.Errorf("%s: unknown function %s in %s", where, m[1], expr)
		}
	}
	var used []string
	labelsOfExpr := map[string]bool{"le": true, "instance": true, "job": true}
	for _, m := range metricRef.FindAllStringSubmatch(expr, -1) {
		labels, ok := metrics[m[1]]
		if !ok {
			t.Errorf("%s: metric %s does not exist", where, m[1])
			continue
		}
		used = append(used, m[1])
		for l := range labels {
			labelsOfExpr[l] = true
		}
		for _, lm := range matcher.FindAllStringSubmatch(m[2], -1) {
			if !labels[lm[1]] {
				t.Errorf("%s: metric %s has no label %s", where, m[1], lm[1])
			}
		}
	}
	if len(used) == 0 {
		t.Errorf("%s: %s uses no Pulse metric", where, expr)
	}
	for _, g := range grouping.FindAllStringSubmatch(expr, -1) {
		for _, l := range strings.Split(g[1], ",") {
			if l = strings.TrimSpace(l); l != "" && !labelsOfExpr[l] {
				t.Errorf("%s: grouping label %s is on none of its metrics", where, l)
			}
		}
	}
	return used
}

func TestDeployFilesUseRealMetrics(t *testing.T) {
	metrics := serverMetrics(t)
	root := filepath.Join("..", "..", "deploy")

	// Alert rules.
	raw, err := os.ReadFile(filepath.Join(root, "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&rules); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	tmplFuncs := template.FuncMap{"humanize": fmtAny, "humanizePercentage": fmtAny, "humanizeDuration": fmtAny}
	alertNames := map[string]bool{}
	covered := map[string]bool{}
	for _, g := range rules.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("group %q is unnamed or empty", g.Name)
		}
		for _, r := range g.Rules {
			where := "alert " + r.Alert
			if !regexp.MustCompile(`^[A-Z][A-Za-z0-9]+$`).MatchString(r.Alert) || alertNames[r.Alert] {
				t.Errorf("%s: bad or duplicate name", where)
			}
			alertNames[r.Alert] = true
			if _, err := time.ParseDuration(r.For); err != nil {
				t.Errorf("%s: for %q: %v", where, r.For, err)
			}
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("%s: severity %q", where, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: summary and description are required", where)
			}
			for k, a := range r.Annotations {
				// Prometheus defines these variables before expanding.
				const defs = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$value := .Value}}"
				if _, err := template.New(k).Funcs(tmplFuncs).Parse(defs + a); err != nil {
					t.Errorf("%s: annotation %s: %v", where, k, err)
				}
			}
			for _, m := range checkExpr(t, where, r.Expr, metrics) {
				covered[m] = true
			}
		}
	}
	for _, m := range []string{
		"pulse_consumer_lag_records", "pulse_consumer_lag_seconds", "pulse_pipeline_dlq_produced_total",
		"pulse_pipeline_store_write_errors_total", "pulse_consumer_group_members", "pulse_ws_disconnects_total",
	} {
		if !covered[m] {
			t.Errorf("no alert on %s", m)
		}
	}

	// Dashboard.
	raw, err = os.ReadFile(filepath.Join(root, "grafana", "pulse.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title       string `json:"title"`
		UID         string `json:"uid"`
		Annotations struct {
			List []struct {
				Expr string `json:"expr"`
			} `json:"list"`
		} `json:"annotations"`
		Panels []struct {
			ID      int    `json:"id"`
			Title   string `json:"title"`
			Type    string `json:"type"`
			GridPos struct {
				H, W, X, Y int
			} `json:"gridPos"`
			Targets []struct {
				RefID string `json:"refId"`
				Expr  string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("pulse.json: %v", err)
	}
	if dash.Title == "" || dash.UID == "" || len(dash.Panels) < 10 {
		t.Fatalf("dashboard %q %q with %d panels", dash.Title, dash.UID, len(dash.Panels))
	}
	ids := map[int]bool{}
	for _, p := range dash.Panels {
		where := "panel " + p.Title
		if p.ID == 0 || ids[p.ID] || p.Title == "" || p.Type == "" || p.GridPos.W == 0 || p.GridPos.H == 0 || len(p.Targets) == 0 {
			t.Errorf("%s: id %d, type %q, grid %+v, %d targets", where, p.ID, p.Type, p.GridPos, len(p.Targets))
		}
		ids[p.ID] = true
		for _, tg := range p.Targets {
			checkExpr(t, where+" "+tg.RefID, tg.Expr, metrics)
		}
	}
	for _, a := range dash.Annotations.List {
		checkExpr(t, "annotation", a.Expr, metrics)
	}
}

func fmtAny(v any) string { return "" }
