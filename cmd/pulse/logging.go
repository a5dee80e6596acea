package main

import (
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/pulse-dev/pulse/internal/config"
)

// newLogger builds the process logger: readable text on a terminal, JSON
// otherwise (or as --log-format says), at --log-level.
func newLogger(cfg *config.Config, stderr io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: logLevel(cfg.Log.Level)}
	format := cfg.Log.Format
	if format == "" || format == "auto" {
		format = "json"
		if isTerminal(stderr) {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(stderr, opts))
}

func logLevel(s string) slog.Level {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
