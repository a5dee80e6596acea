package generator

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
)

// The journey of the shop, on top of the seed's random walk: a user lands
// on /home, browses products, adds one to the cart (button_click
// btn_add_to_cart, then an add_to_cart event), goes to checkout
// (btn_checkout, btn_buy_now or btn_place_order) where some sign up, once
// ever, and some buy. The odds below make the drop-off; a paying plan
// buys more often. Regulars come back often (pickUser), so funnels and
// retention have something to say within minutes of `make run`.
const (
	// TypeAddToCart, TypeSignup and TypePurchase are the journey's own
	// event types, besides the seed's five.
	TypeAddToCart = "add_to_cart"
	TypeSignup    = "signup"
	TypePurchase  = "purchase"

	// signupOdds is the share of users not signed up who sign up when
	// they go to checkout.
	signupOdds = 0.5
	// guestOdds is the share of checkouts of users not signed up that
	// still buy (as guests).
	guestOdds = 0.3
)

// purchaseOdds is, by plan, the share of checkouts that end in a purchase.
var purchaseOdds = map[string]float64{"free": 0.3, "pro": 0.5, "team": 0.6}

// checkoutClicks are the clicks that take a user to checkout.
var checkoutClicks = map[string]bool{"btn_checkout": true, "btn_buy_now": true, "btn_place_order": true}

// traits are what a user is, the same on each of their events.
type traits struct{ plan, country, device string }

// traitsOf draws user i's traits from its own source, so they do not move
// the sequence of events and stay the same for a seed.
func traitsOf(seed uint64, i int) traits {
	r := rand.New(rand.NewPCG(seed^0x5bd1e995, uint64(i)))
	return traits{
		plan:    weighted(r, []string{"free", "pro", "team"}, []float64{0.7, 0.22, 0.08}),
		country: weighted(r, []string{"US", "GB", "DE", "FR", "IN", "BR", "JP", "CA"}, []float64{0.35, 0.12, 0.12, 0.1, 0.1, 0.08, 0.07, 0.06}),
		device:  weighted(r, []string{"desktop", "mobile", "tablet"}, []float64{0.55, 0.38, 0.07}),
	}
}

func weighted(r *rand.Rand, values []string, weights []float64) string {
	x := r.Float64()
	for i, w := range weights {
		if x < w {
			return values[i]
		}
		x -= w
	}
	return values[len(values)-1]
}

// followUp is an event a click set off, sent as the user's next.
type followUp struct {
	typ, page, element string
	props              map[string]any
}

// products are what the product pages sell, with their prices.
var products = map[string]struct {
	name  string
	price float64
}{
	"/products/42":  {"desk lamp", 49},
	"/products/7":   {"usb-c cable", 12},
	"/products/128": {"red jacket", 129},
	"/products":     {"coffee", 9},
}

// journey queues what a click on page sets off for u.
func (g *Generator) journey(u *user, page, element string) {
	switch {
	case element == "btn_add_to_cart":
		p, ok := products[page]
		if !ok {
			p = products["/products"]
		}
		u.pending = append(u.pending, followUp{TypeAddToCart, page, "btn_add_to_cart",
			map[string]any{"product": p.name, "price": p.price, "quantity": 1 + g.rng.IntN(2)}})
	case checkoutClicks[element]:
		if !u.signedUp && g.rng.Float64() < signupOdds {
			u.signedUp = true
			u.pending = append(u.pending, followUp{TypeSignup, "/signup", "signup_form",
				map[string]any{"method": [...]string{"email", "email", "google", "github"}[g.rng.IntN(4)]}})
		}
		if (u.signedUp || g.rng.Float64() < guestOdds) && g.rng.Float64() < purchaseOdds[u.traits.plan] {
			items := 1 + g.rng.IntN(3)
			amount := math.Round((9+g.rng.Float64()*150)*float64(items)*100) / 100
			u.pending = append(u.pending, followUp{TypePurchase, "/checkout", "btn_place_order",
				map[string]any{"amount": amount, "currency": currencyOf(u.traits.country), "items": items}})
		}
	}
}

func currencyOf(country string) string {
	switch country {
	case "DE", "FR":
		return "EUR"
	case "GB":
		return "GBP"
	case "JP":
		return "JPY"
	}
	return "USD"
}

// followUp sends u's first pending event, in u's session.
func (g *Generator) followUp(u *user, at time.Time) event.Event {
	f := u.pending[0]
	u.pending = u.pending[1:]
	e := event.Event{
		EventID:    g.uuid(at),
		UserID:     u.id,
		EventType:  f.typ,
		SessionID:  u.session,
		Timestamp:  at.UTC(),
		Page:       f.page,
		ElementID:  f.element,
		Properties: g.props(u, f.props),
	}
	g.simulate(&e)
	return e
}
