package api

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// explorerFile registers the explorer's routes; they are documented
// before they exist, and checked once the file registers any.
const explorerFile = "explorer.go"

type route struct{ method, path string }

var pathParam = regexp.MustCompile(`\{[^}]*\}`)

// normalise makes a mux pattern and an OpenAPI path comparable: no
// trailing slash (the server answers both), parameters unnamed.
func normalise(method, path string) route {
	path = strings.TrimSuffix(path, "{$}")
	if path != "/" {
		path = strings.TrimSuffix(path, "/")
	}
	return route{method, pathParam.ReplaceAllString(path, "{}")}
}

// registeredRoutes reads this package's source and returns every route
// it registers, through handle(method, path, h), handlePattern(method,
// pattern, h) or mux.Handle("METHOD /path", h), with the file
// registering it.
func registeredRoutes(t *testing.T) map[route]string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[route]string)
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			lit := func(i int) (string, bool) {
				if i >= len(call.Args) {
					return "", false
				}
				bl, ok := call.Args[i].(*ast.BasicLit)
				if !ok || bl.Kind != token.STRING {
					return "", false
				}
				s, err := strconv.Unquote(bl.Value)
				return s, err == nil
			}
			switch fn := call.Fun.(type) {
			case *ast.Ident:
				if fn.Name != "handle" && fn.Name != "handlePattern" {
					return true
				}
				m, ok1 := lit(0)
				p, ok2 := lit(1)
				if fn.Name == "handlePattern" && !ok2 {
					// handle's own body builds its patterns.
					return true
				}
				if !ok1 || !ok2 {
					t.Errorf("%s: handle called without literal method and path at %s", name, fset.Position(call.Pos()))
					return true
				}
				out[normalise(m, p)] = name
			case *ast.SelectorExpr:
				if fn.Sel.Name != "Handle" {
					return true
				}
				if x, ok := fn.X.(*ast.Ident); !ok || x.Name != "mux" {
					return true
				}
				pat, ok := lit(0)
				if !ok {
					// handle's own body builds its patterns.
					return true
				}
				m, p, ok := strings.Cut(pat, " ")
				switch {
				case ok:
				case pat == "/":
					// The UI, which serves GET and HEAD and answers 405
					// to the rest itself.
					m, p = "GET", "/"
				case pat == "/api/" || pat == "/api":
					// Unknown endpoints: a 404 for any method.
					return true
				default:
					t.Errorf("%s: mux pattern %q has no method", name, pat)
					return true
				}
				out[normalise(m, p)] = name
			}
			return true
		})
	}
	if len(out) < 10 {
		t.Fatalf("found only %d registrations: %v", len(out), out)
	}
	return out
}

// documentedRoutes returns the routes of the OpenAPI document.
func documentedRoutes(t *testing.T) map[route]bool {
	t.Helper()
	doc := OpenAPI()
	// The document must survive JSON as served.
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q", back.OpenAPI)
	}
	out := make(map[route]bool)
	for p, item := range back.Paths {
		for m := range item {
			out[normalise(strings.ToUpper(m), p)] = true
		}
	}
	return out
}

// explorerDocumented are the documented routes the explorer serves.
func explorerDocumented() map[route]bool {
	out := make(map[route]bool)
	for _, op := range operations() {
		if op.explorer {
			out[normalise(op.method, op.path)] = true
		}
	}
	return out
}

func TestOpenAPIDocumentsEveryRegisteredRoute(t *testing.T) {
	reg := registeredRoutes(t)
	doc := documentedRoutes(t)
	for r, file := range reg {
		if !doc[r] {
			t.Errorf("%s %s (registered in %s) is not in the OpenAPI document", r.method, r.path, file)
		}
	}
	explorerLive := false
	for _, file := range reg {
		if file == explorerFile {
			explorerLive = true
		}
	}
	explorer := explorerDocumented()
	if len(explorer) != 3 {
		t.Fatalf("explorer routes documented: %v", explorer)
	}
	for r := range doc {
		if explorer[r] && !explorerLive {
			// Documented ahead of explorer.go registering anything.
			continue
		}
		if _, ok := reg[r]; !ok {
			t.Errorf("%s %s is documented but not registered", r.method, r.path)
		}
	}
}

func TestOpenAPIServed(t *testing.T) {
	srv := httptest.NewServer(New(Config{Loopback: true}, Deps{}, nil, nil).Handler())
	defer srv.Close()
	for _, path := range []string{"/api/openapi.json", "/api/openapi.json/"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			OpenAPI    string                    `json:"openapi"`
			Paths      map[string]map[string]any `json:"paths"`
			Components struct {
				Schemas map[string]any `json:"schemas"`
			} `json:"components"`
		}
		err = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
		}
		if doc.OpenAPI != "3.1.0" || doc.Paths["/api/dlq/replay/"]["post"] == nil || doc.Paths["/metrics"]["get"] == nil {
			t.Fatalf("GET %s: document %+v", path, doc.Paths)
		}
		// Every $ref points at a schema that exists.
		raw, _ := json.Marshal(doc)
		for _, m := range regexp.MustCompile(`"#/components/schemas/([A-Za-z]+)"`).FindAllStringSubmatch(string(raw), -1) {
			if doc.Components.Schemas[m[1]] == nil {
				t.Errorf("dangling $ref %s", m[1])
			}
		}
	}
	// Operation ids are unique.
	var ids []string
	for _, op := range operations() {
		ids = append(ids, operationID(op))
	}
	slices.Sort(ids)
	if c := slices.Compact(slices.Clone(ids)); len(c) != len(ids) {
		t.Fatalf("duplicate operation ids: %v", ids)
	}
}
