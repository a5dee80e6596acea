// Package generator makes realistic user events for load runs and demos:
// a population of users browsing a small shop, each in a session that
// lasts a while, clicking the elements of the page they are on, with the
// seed's mix of event types. With a fixed seed the sequence repeats
// exactly, which tests rely on.
package generator

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"

	"github.com/pulse-dev/pulse/internal/event"
)

// Config shapes the generated traffic. Zero fields take the defaults.
type Config struct {
	// Users is the population size; 500 by default.
	Users int
	// Seed makes the sequence repeatable; 0 picks a random one.
	Seed uint64
	// FailureRate is the share of events (0..1) marked should_fail.
	FailureRate float64
	// DelayRate is the share of events (0..1) given a processing delay.
	DelayRate float64
	// MaxDelay bounds delay_seconds; 5 by default (the seed's Button 4).
	MaxDelay float64
	// Now stamps the events; time.Now by default.
	Now func() time.Time
}

// Defaults.
const (
	DefaultUsers    = 500
	DefaultMaxDelay = 5.0
)

// Validate reports a Config that cannot work.
func (c Config) Validate() error {
	switch {
	case c.Users < 0:
		return fmt.Errorf("users must not be negative (got %d)", c.Users)
	case c.FailureRate < 0 || c.FailureRate > 1 || math.IsNaN(c.FailureRate):
		return fmt.Errorf("failure rate must be between 0 and 1 (got %v)", c.FailureRate)
	case c.DelayRate < 0 || c.DelayRate > 1 || math.IsNaN(c.DelayRate):
		return fmt.Errorf("delay rate must be between 0 and 1 (got %v)", c.DelayRate)
	case c.MaxDelay < 0 || c.MaxDelay > event.MaxDelaySeconds:
		return fmt.Errorf("max delay must be between 0 and %d seconds (got %v)", event.MaxDelaySeconds, c.MaxDelay)
	}
	return nil
}

// page is a place in the shop: the elements one can click there, the
// form one can submit, and where one tends to go next.
type page struct {
	path     string
	elements []string
	form     string
	next     []string
}

func site() []page {
	return []page{
		{"/home", []string{"nav_home", "nav_products", "nav_cart", "btn_shop_now", "banner_sale", "search_box"}, "newsletter_form",
			[]string{"/products", "/products", "/search", "/products/42", "/cart", "/settings"}},
		{"/products", []string{"btn_add_to_cart", "filter_price", "sort_by", "product_card", "nav_home", "search_box"}, "",
			[]string{"/products/42", "/products/7", "/products/128", "/cart", "/search", "/home"}},
		{"/products/42", []string{"btn_add_to_cart", "btn_buy_now", "img_gallery", "tab_reviews", "btn_wishlist"}, "review_form",
			[]string{"/cart", "/products", "/checkout", "/products/7"}},
		{"/products/7", []string{"btn_add_to_cart", "img_gallery", "tab_specs", "btn_wishlist"}, "",
			[]string{"/cart", "/products", "/products/42"}},
		{"/products/128", []string{"btn_add_to_cart", "btn_buy_now", "tab_reviews", "size_picker"}, "",
			[]string{"/cart", "/products", "/checkout"}},
		{"/cart", []string{"btn_checkout", "btn_remove_item", "qty_stepper", "btn_continue_shopping", "coupon_box"}, "coupon_form",
			[]string{"/checkout", "/checkout", "/products", "/home"}},
		{"/checkout", []string{"btn_place_order", "btn_back_to_cart", "payment_method", "shipping_option"}, "checkout_form",
			[]string{"/home", "/products", "/cart"}},
		{"/search", []string{"search_box", "btn_search", "search_result", "filter_category"}, "search_form",
			[]string{"/products/42", "/products/7", "/products/128", "/products"}},
		{"/settings", []string{"toggle_dark_mode", "btn_save", "nav_profile", "btn_logout"}, "settings_form",
			[]string{"/home", "/products"}},
		{"/login", []string{"btn_login", "link_forgot_password", "btn_sso"}, "login_form",
			[]string{"/home", "/products"}},
	}
}

// apiEndpoints are the calls the front end makes.
var apiEndpoints = [...]struct{ method, path, element string }{
	{"GET", "/api/products", "api_list_products"},
	{"GET", "/api/products/42", "api_get_product"},
	{"POST", "/api/cart/items", "api_add_cart_item"},
	{"GET", "/api/cart", "api_get_cart"},
	{"POST", "/api/orders", "api_create_order"},
	{"GET", "/api/search", "api_search"},
	{"PUT", "/api/users/me", "api_update_profile"},
}

// mix is the share of each event type, as the seed's demo traffic.
var mix = [...]struct {
	typ    string
	weight float64
}{
	{event.TypePageView, 0.40},
	{event.TypeButtonClick, 0.35},
	{event.TypeFormSubmit, 0.12},
	{event.TypeUserLogin, 0.05},
	{event.TypeAPICall, 0.08},
}

type user struct {
	id        string
	session   string
	remaining int // events left in this session
	page      int // index into pages
	// traits are the user's plan, country and device, on every event.
	traits traits
	// signedUp: a user signs up once, ever.
	signedUp bool
	// pending are the events a click set off (the cart, a signup, a
	// purchase), sent as the user's next ones.
	pending []followUp
}

// Generator makes events. It is not safe for concurrent use.
type Generator struct {
	cfg    Config
	rng    *rand.Rand
	pages  []page
	byPath map[string]int
	users  []user
	count  int64
}

// New returns a generator. The config must be valid (see Validate);
// out-of-range shares are clamped.
func New(cfg Config) *Generator {
	if cfg.Users <= 0 {
		cfg.Users = DefaultUsers
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = DefaultMaxDelay
	}
	cfg.MaxDelay = min(cfg.MaxDelay, event.MaxDelaySeconds)
	cfg.FailureRate = clamp01(cfg.FailureRate)
	cfg.DelayRate = clamp01(cfg.DelayRate)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	g := &Generator{
		cfg:    cfg,
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		pages:  site(),
		byPath: make(map[string]int),
		users:  make([]user, cfg.Users),
	}
	for i, p := range g.pages {
		g.byPath[p.path] = i
	}
	for i := range g.users {
		g.users[i] = user{id: fmt.Sprintf("user_%03d", i+1), traits: traitsOf(seed, i)}
	}
	return g
}

func clamp01(f float64) float64 {
	if math.IsNaN(f) {
		return 0
	}
	return max(0, min(1, f))
}

// Count is how many events Next has made.
func (g *Generator) Count() int64 { return g.count }

// Next makes the next event: a full, valid event with event_id and
// timestamp set.
func (g *Generator) Next() event.Event { return g.At(g.cfg.Now()) }

// At makes the next event as Next does, stamped at: a backfill of past
// days (pulse produce --history) walks the same users and journeys.
func (g *Generator) At(at time.Time) event.Event {
	g.count++
	u := g.pickUser()
	if len(u.pending) > 0 && u.session != "" {
		return g.followUp(u, at)
	}
	typ := g.pickType()
	if u.session == "" || u.remaining <= 0 {
		g.newSession(u)
		// A new session starts by signing in or landing on the home page.
		if typ == event.TypeUserLogin || g.rng.Float64() < 0.3 {
			typ = event.TypeUserLogin
		} else {
			typ = event.TypePageView
			u.page = g.byPath["/home"]
		}
	}
	u.remaining--

	e := event.Event{
		EventID:   g.uuid(at),
		UserID:    u.id,
		EventType: typ,
		SessionID: u.session,
		Timestamp: at.UTC(),
	}
	p := &g.pages[u.page]
	switch typ {
	case event.TypePageView:
		from := p.path
		to := p.next[g.rng.IntN(len(p.next))]
		u.page = g.byPath[to]
		e.Page = to
		e.ElementID = "page_" + pageSlug(to)
		e.Properties = g.props(u, map[string]any{
			"referrer":     from,
			"load_time_ms": 80 + g.rng.IntN(900),
			"viewport":     [...]string{"desktop", "mobile", "tablet"}[g.rng.IntN(3)],
		})
	case event.TypeButtonClick:
		e.Page = p.path
		e.ElementID = p.elements[g.rng.IntN(len(p.elements))]
		e.Properties = g.props(u, map[string]any{"x": g.rng.IntN(1280), "y": g.rng.IntN(800)})
		if e.ElementID == "btn_logout" {
			u.remaining = 0 // the session ends here
		}
		g.journey(u, p.path, e.ElementID)
	case event.TypeFormSubmit:
		form := p.form
		if form == "" {
			// Not every page has a form; the search box is everywhere.
			form = "search_form"
		}
		e.Page = p.path
		e.ElementID = form
		props := map[string]any{"fields": 1 + g.rng.IntN(8), "valid": g.rng.Float64() < 0.9}
		if form == "search_form" {
			props["query"] = [...]string{"shoes", "red jacket", "usb-c cable", "coffee", "desk lamp"}[g.rng.IntN(5)]
		}
		e.Properties = g.props(u, props)
	case event.TypeUserLogin:
		u.page = g.byPath["/login"]
		e.Page = "/login"
		e.ElementID = "btn_login"
		e.Properties = g.props(u, map[string]any{
			"method":  [...]string{"password", "password", "google", "github"}[g.rng.IntN(4)],
			"success": g.rng.Float64() < 0.95,
		})
	case event.TypeAPICall:
		ep := apiEndpoints[g.rng.IntN(len(apiEndpoints))]
		status := 200
		switch r := g.rng.Float64(); {
		case r < 0.02:
			status = 500
		case r < 0.06:
			status = 404
		case ep.method == "POST":
			status = 201
		}
		e.Page = p.path
		e.ElementID = ep.element
		e.Properties = g.props(u, map[string]any{
			"endpoint": ep.path, "method": ep.method, "status": status,
			"latency_ms": int(math.Round(5 + g.rng.ExpFloat64()*40)),
		})
	}
	g.simulate(&e)
	return e
}

// simulate marks the shares of events a load run asks to fail or to be
// slow.
func (g *Generator) simulate(e *event.Event) {
	if g.cfg.FailureRate > 0 && g.rng.Float64() < g.cfg.FailureRate {
		e.ShouldFail = true
		e.Message = "simulated failure (load run)"
	}
	if g.cfg.DelayRate > 0 && g.rng.Float64() < g.cfg.DelayRate {
		// Tenths of a second, between 0.1 s and MaxDelay.
		e.DelaySeconds = math.Round((0.1+g.rng.Float64()*(g.cfg.MaxDelay-0.1))*10) / 10
		e.DelaySeconds = max(0.1, min(e.DelaySeconds, g.cfg.MaxDelay))
	}
}

// pickUser favours a core of active users, as real traffic does: the
// square of a uniform number skews towards the first ids.
func (g *Generator) pickUser() *user {
	f := g.rng.Float64()
	i := int(f * f * float64(len(g.users)))
	return &g.users[min(i, len(g.users)-1)]
}

func (g *Generator) pickType() string {
	r := g.rng.Float64()
	for _, m := range mix {
		if r < m.weight {
			return m.typ
		}
		r -= m.weight
	}
	return mix[0].typ
}

func (g *Generator) newSession(u *user) {
	u.session = "sess_" + g.randomID()
	u.remaining = 5 + g.rng.IntN(60)
	u.page = g.byPath["/home"]
}

// randomID is 13 hex digits from the generator's source.
func (g *Generator) randomID() string {
	return fmt.Sprintf("%013x", g.rng.Uint64()>>12)
}

// uuid draws a version 7 UUID: the time from Config.Now, the rest from the
// generator's source, so a seeded run with a fixed clock repeats its ids
// and generated events are time-ordered like the ones Pulse makes.
func (g *Generator) uuid(at time.Time) string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := g.rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	ms := uint64(at.UnixMilli())
	for i := range 6 {
		b[i] = byte(ms >> (8 * (5 - i)))
	}
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	return uuid.UUID(b).String()
}

func (g *Generator) props(u *user, m map[string]any) json.RawMessage {
	m["plan"], m["country"], m["device"] = u.traits.plan, u.traits.country, u.traits.device
	// Maps of strings, numbers and booleans always encode.
	b, _ := json.Marshal(m)
	return b
}

func pageSlug(path string) string {
	s := []byte(path)
	out := s[:0]
	for _, c := range s[1:] {
		if c == '/' {
			c = '_'
		}
		out = append(out, c)
	}
	return string(out)
}
