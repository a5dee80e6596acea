package privacy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// Settings is where the declaration and the masking key are kept;
// store.Settings satisfies it.
type Settings interface {
	Setting(ctx context.Context, key string) (string, bool, error)
	PutSetting(ctx context.Context, key, value string) error
	InitSetting(ctx context.Context, key, value string) (string, error)
}

// Keys of the settings this package keeps.
const (
	settingFields = "personal_fields"
	settingKey    = "mask_key"
)

// refreshEvery bounds how long a change made by another process (or the
// command line) takes to reach this one.
const refreshEvery = time.Second

// Service keeps the declaration of personal fields in the store, shared by
// every process of a deployment, and the Masker that applies it.
type Service struct {
	settings Settings
	masker   *Masker

	mu         sync.Mutex
	checked    time.Time
	refreshing bool
}

// Open reads the declaration (DefaultFields until an admin changes it) and
// the masking key, which the first process to start picks at random and
// every later one reads, so that a pseudonym is the same wherever it is
// shown and after a restart.
func Open(ctx context.Context, settings Settings) (*Service, error) {
	var k [32]byte
	_, _ = rand.Read(k[:]) // crypto/rand.Read never fails (Go 1.24+)
	stored, err := settings.InitSetting(ctx, settingKey, hex.EncodeToString(k[:]))
	if err != nil {
		return nil, fmt.Errorf("masking key: %w", err)
	}
	key, err := hex.DecodeString(stored)
	if err != nil || len(key) < 16 {
		return nil, fmt.Errorf("masking key: the stored %s is not a hex key of 16 bytes or more", settingKey)
	}
	set, err := readFields(ctx, settings)
	if err != nil {
		return nil, err
	}
	return &Service{settings: settings, masker: NewMasker(key, set), checked: time.Now()}, nil
}

func readFields(ctx context.Context, settings Settings) (*Set, error) {
	raw, ok, err := settings.Setting(ctx, settingFields)
	if err != nil {
		return nil, fmt.Errorf("personal fields: %w", err)
	}
	if !ok {
		return NewSet(DefaultFields), nil
	}
	var list []string
	if err := json.Unmarshal([]byte(raw), &list); err != nil {
		return nil, fmt.Errorf("personal fields: the stored %s is not a JSON list: %w", settingFields, err)
	}
	fields, err := ParseFields(list)
	if err != nil {
		return nil, fmt.Errorf("personal fields: stored: %w", err)
	}
	return NewSet(fields), nil
}

// Masker returns the masker. At most once a second it has the
// declaration read again in the background, so that a change made by
// another process (or the command line) applies here within about a
// second, and no caller ever waits on the store: one that does not
// answer keeps the last declaration read in force. That never unmasks
// anything, since a field leaves the declaration only by a change this
// process read.
func (s *Service) Masker() *Masker {
	s.mu.Lock()
	if !s.refreshing && time.Since(s.checked) >= refreshEvery {
		s.refreshing, s.checked = true, time.Now()
		go s.refresh()
	}
	s.mu.Unlock()
	return s.masker
}

// refreshTimeout bounds one background read of the declaration.
const refreshTimeout = 5 * time.Second

func (s *Service) refresh() {
	ctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
	defer cancel()
	if set, err := readFields(ctx, s.settings); err == nil {
		s.masker.SetFields(set)
	}
	s.mu.Lock()
	s.refreshing = false
	s.mu.Unlock()
}

// Fields returns the declared fields.
func (s *Service) Fields() []string {
	return s.Masker().Fields().List()
}

// SetFields checks and stores a new declaration, which masks from now on
// in this process and within a second in the others.
func (s *Service) SetFields(ctx context.Context, in []string) ([]string, error) {
	fields, err := ParseFields(in)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	if err := s.settings.PutSetting(ctx, settingFields, string(raw)); err != nil {
		return nil, fmt.Errorf("store personal fields: %w", err)
	}
	s.masker.SetFields(NewSet(fields))
	return fields, nil
}
