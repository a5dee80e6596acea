// Package web embeds the dashboard, the React app built by Vite from this
// directory, so the pulse binary serves it without files on disk.
package web

import (
	"embed"
	"io/fs"
)

// files holds ui/dist (the Vite build, absent in a fresh clone) and
// ui/placeholder (committed), so the package compiles before the UI is
// built. go:embed needs a package-level variable.
//
//go:embed all:ui
var files embed.FS

// UI returns the dashboard's files with index.html at the root: the built
// app when ui/dist/index.html exists, otherwise a page saying how to build
// it.
func UI() fs.FS {
	if dist, err := fs.Sub(files, "ui/dist"); err == nil {
		if _, err := fs.Stat(dist, "index.html"); err == nil {
			return dist
		}
	}
	// fs.Sub fails only on an invalid path, and this one is a constant.
	placeholder, _ := fs.Sub(files, "ui/placeholder")
	return placeholder
}

// Built reports whether UI serves the built app rather than the placeholder.
func Built() bool {
	_, err := fs.Stat(files, "ui/dist/index.html")
	return err == nil
}
