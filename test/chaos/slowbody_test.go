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
)

// TestSlowBodiesAreCutOff sends 20 request bodies at a byte a second to a
// real serve (150 such POSTs used to stay open for 90 s and more): each is
// answered 408, or closed, within the 10 s body bound, while a normal
// client is served meanwhile.
func TestSlowBodiesAreCutOff(t *testing.T) {
	s := startServe(t, t.TempDir(), freeAddr(t), freeAddr(t))
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
