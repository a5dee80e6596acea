package chaos

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/test/pulsetest"
)

// TestSlowBodiesAreCutOff sends 20 request bodies at a byte a second to a
// real serve (150 such POSTs used to stay open for 90 s and more): each is
// answered 408, or closed, within the 10 s body bound, while a normal
// client is served meanwhile.
func TestSlowBodiesAreCutOff(t *testing.T) {
	s := startServe(t, t.TempDir(), pulsetest.FreeAddr(t), pulsetest.FreeAddr(t))
	const clients, bound = 20, 10 * time.Second
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for range clients {
		wg.Go(func() {
			start := time.Now()
			conn, err := net.Dial("tcp", s.http)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST /api/events/create/ HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{", s.http)
			stop := make(chan struct{})
			defer close(stop)
			go func() {
				tick := time.NewTicker(time.Second)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						if _, err := conn.Write([]byte(" ")); err != nil {
							return
						}
					}
				}
			}()
			_ = conn.SetReadDeadline(start.Add(bound + 5*time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			switch {
			case err == nil && resp.StatusCode != http.StatusRequestTimeout:
				errs <- fmt.Errorf("slow body answered %s", resp.Status)
			case err != nil && isTimeout(err):
				errs <- fmt.Errorf("slow body still open after %v", time.Since(start))
			}
		})
	}
	// Served while the slow ones trickle.
	resp, body := request(t, "POST", "http://"+s.http+"/api/events/create/", `{"user_id":"u1","event_type":"page_view"}`, "Content-Type", "application/json")
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("normal client: %d %s", resp.StatusCode, strings.TrimSpace(body))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestSlowlorisCappedPerClient holds connections from one address that
// trickle their headers (each may last the 10 s header bound, and a
// client opening them faster than that used to hold as many descriptors
// as it liked): past --max-conns-per-ip its new connections get 429,
// while another client is served.
func TestSlowlorisCappedPerClient(t *testing.T) {
	s := startServe(t, t.TempDir(), pulsetest.FreeAddr(t), pulsetest.FreeAddr(t), "--max-conns-per-ip", "20")
	for i := range 20 {
		c, err := net.Dial("tcp", s.http)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := fmt.Fprintf(c, "GET /api/health/ HTTP/1.1\r\nHost: %s\r\nX-Slow-%d: ", s.http, i); err != nil {
			t.Fatal(err)
		}
	}
	pulsetest.WaitFor(t, 10*time.Second, "the 21st connection to be refused", func() error {
		c, err := net.Dial("tcp", s.http)
		if err != nil {
			return err
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /api/health/ HTTP/1.1\r\nHost: %s\r\n\r\n", s.http)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusTooManyRequests {
			return fmt.Errorf("21st connection answered %s", resp.Status)
		}
		return nil
	})
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	other := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}, Timeout: 10 * time.Second}
	resp, err := other.Get("http://" + s.http + "/api/health/")
	if err != nil {
		t.Fatalf("another client: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("another client: %d", resp.StatusCode)
	}
}
