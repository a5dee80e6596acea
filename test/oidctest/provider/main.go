// Command provider runs oidctest's OpenID provider (zitadel/oidc's
// example provider) for the browser tests, which cannot start it in
// their own process: it prints {"issuer","client_id","client_secret"}
// on one line once it serves, and serves until it is signalled.
//
//	provider --addr 127.0.0.1:9999 --redirect http://127.0.0.1:8000/api/auth/oidc/callback/ \
//	  --user 'ada:password:ada@example.com:pulse-admins,ops'
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/pulse-dev/pulse/test/oidctest"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, " ") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var redirects, users list
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Var(&redirects, "redirect", "a redirect URI of the client (repeat)")
	flag.Var(&users, "user", "a user as username:password:email:group,group (repeat); the email is verified")
	flag.Parse()
	opts := oidctest.Options{Addr: *addr, RedirectURIs: redirects}
	for _, u := range users {
		f := strings.SplitN(u, ":", 4)
		if len(f) < 3 {
			fmt.Fprintf(os.Stderr, "provider: --user %q: want username:password:email[:groups]\n", u)
			os.Exit(2)
		}
		user := oidctest.User{Username: f[0], Password: f[1], Email: f[2], EmailVerified: true}
		if len(f) == 4 && f[3] != "" {
			user.Groups = strings.Split(f[3], ",")
		}
		opts.Users = append(opts.Users, user)
	}
	p, err := oidctest.New(opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "provider: %v\n", err)
		os.Exit(1)
	}
	defer p.Close()
	_ = json.NewEncoder(os.Stdout).Encode(map[string]string{"issuer": p.Issuer, "client_id": p.ClientID, "client_secret": p.ClientSecret})
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
}
