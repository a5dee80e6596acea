package web

import (
	"io/fs"
	"strings"
	"testing"
)

func TestUIServesAnIndex(t *testing.T) {
	ui := UI()
	page, err := fs.ReadFile(ui, "index.html")
	if err != nil {
		t.Fatalf("read index.html: %v", err)
	}
	if !strings.Contains(string(page), "Kafka Real-time Dashboard") {
		t.Errorf("index.html does not name the dashboard:\n%s", page)
	}
	if Built() {
		if strings.Contains(string(page), "not built") {
			t.Error("UI serves the placeholder although ui/dist/index.html exists")
		}
		return
	}
	if !strings.Contains(string(page), "make build") {
		t.Errorf("placeholder does not say how to build the UI:\n%s", page)
	}
}
