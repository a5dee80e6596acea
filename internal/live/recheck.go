package live

import (
	"context"
	"errors"
	"time"

	"github.com/coder/websocket"
)

// StatusSignInAgain is the close code of a WebSocket whose client may no
// longer read it (its session ended, its role changed): the application
// range's twin of HTTP 401, which tells the page to sign in, not to
// reconnect as it would after a drop.
const StatusSignInAgain websocket.StatusCode = 4401

// stopUnauthorized: the client's credentials no longer pass.
const stopUnauthorized = "unauthorized"

type recheckKey struct{}

type maskedKey struct{}

// WithMasked marks a WebSocket request as one whose client may not see
// personal values: every event and message it is sent is masked by
// HubConfig.Masking. The HTTP layer, which knows the client's role, says
// so; its recheck closes the socket when the role changes.
func WithMasked(ctx context.Context) context.Context {
	return context.WithValue(ctx, maskedKey{}, true)
}

func maskedOf(ctx context.Context) bool {
	masked, _ := ctx.Value(maskedKey{}).(bool)
	return masked
}

// WithRecheck gives a WebSocket request the check the hub repeats every
// RecheckInterval while the connection is open: an error closes it with
// StatusSignInAgain. The HTTP layer, which let the request in, knows how
// to ask again.
func WithRecheck(ctx context.Context, check func(context.Context) error) context.Context {
	return context.WithValue(ctx, recheckKey{}, check)
}

func recheckOf(ctx context.Context) func(context.Context) error {
	check, _ := ctx.Value(recheckKey{}).(func(context.Context) error)
	return check
}

// recheck stops c once check fails. A check that cannot be made (the
// store is away) is not a refusal: it is tried again at the next tick.
func (h *Hub) recheck(c *client, check func(context.Context) error) {
	t := time.NewTicker(h.cfg.RecheckInterval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
		err := check(ctx)
		cancel()
		if err != nil && c.ctx.Err() == nil && !isTransient(err) {
			h.log.Debug("websocket client no longer authorized", "err", err)
			c.stop(stopUnauthorized)
			return
		}
	}
}

// Transient marks a check's error that says nothing about the client
// (the store did not answer).
type Transient struct{ Err error }

func (e *Transient) Error() string { return e.Err.Error() }
func (e *Transient) Unwrap() error { return e.Err }

func isTransient(err error) bool {
	var t *Transient
	return errors.As(err, &t)
}
