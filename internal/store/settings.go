package store

import "context"

// Settings keeps the server-wide settings an admin changes in the app
// (the personal fields) and the secrets every process of a deployment
// must share (the masking key), as text under a name.
type Settings interface {
	// Setting returns the value stored under key; ok is false when none is.
	Setting(ctx context.Context, key string) (value string, ok bool, err error)
	// PutSetting stores value under key, replacing any.
	PutSetting(ctx context.Context, key, value string) error
	// InitSetting stores value under key unless a value is there already,
	// and returns the value stored: the first process to start picks a
	// shared secret, the others read it.
	InitSetting(ctx context.Context, key, value string) (string, error)
}
