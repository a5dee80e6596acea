package api

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// ui serves the embedded web app: files as they are, /assets/* (named by
// content hash) cached for a year, and index.html for any other path so
// the app's client-side routes survive a reload. Unknown /api/ and /ws/
// paths get a JSON 404 instead, and methods other than GET and HEAD a 405.
func (s *Server) ui() http.Handler {
	return s.wrap(func(w http.ResponseWriter, r *http.Request) error {
		p := r.URL.Path
		if strings.HasPrefix(p, "/api/") || p == "/api" || strings.HasPrefix(p, "/ws/") {
			return Errorf(ENotFound, "no such endpoint: %s", p)
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			return Errorf(EMethod, "method %s not allowed on %s; allowed: GET, HEAD", r.Method, p)
		}
		if s.deps.UI == nil {
			return Errorf(ENotFound, "the web UI is not built into this binary; the API is under /api/")
		}
		name := strings.TrimPrefix(path.Clean(p), "/")
		if name == "" {
			name = "index.html"
		}
		isAsset := strings.HasPrefix(name, "assets/")
		data, modTime, err := readFile(s.deps.UI, name)
		switch {
		case err == nil:
		case isAsset:
			// A missing hashed asset must not be answered with HTML.
			return Errorf(ENotFound, "no such asset: %s", p)
		default:
			name = "index.html"
			if data, modTime, err = readFile(s.deps.UI, name); err != nil {
				return Errorf(ENotFound, "the web UI has no index.html")
			}
		}
		if isAsset {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		http.ServeContent(w, r, name, modTime, bytes.NewReader(data))
		return nil
	})
}

// readFile reads a regular file from fsys; directories count as missing.
func readFile(fsys fs.FS, name string) ([]byte, time.Time, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, err
	}
	if st.IsDir() {
		return nil, time.Time{}, errors.New("is a directory")
	}
	data, err := io.ReadAll(f)
	return data, st.ModTime(), err
}
