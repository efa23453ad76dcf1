// Command alert-receiver is an Alertmanager webhook receiver for tests and drills. POST /alerts
// takes a webhook notification (version 4 payload), logs it as one JSON line on stdout and keeps
// the last -keep of them in memory; GET /alerts returns those, oldest first.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"sync"
	"time"
)

// maxBody bounds one notification; Alertmanager's are far smaller.
const maxBody = 8 << 20

// entry is one notification as received.
type entry struct {
	ReceivedAt string          `json:"received_at"`
	Payload    json.RawMessage `json:"payload"`
}

// store keeps the last max entries and writes each one to out as it arrives.
type store struct {
	mu      sync.Mutex
	max     int
	entries []entry
	out     io.Writer
}

func (s *store) add(e entry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries = append(s.entries, e)
	if over := len(s.entries) - s.max; over > 0 {
		s.entries = append([]entry(nil), s.entries[over:]...)
	}
	_, err = fmt.Fprintf(s.out, "%s\n", line)
	return err
}

func (s *store) list() []entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]entry{}, s.entries...)
}

func newHandler(s *store) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /alerts", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
			return
		}
		var notification struct {
			Version string            `json:"version"`
			Alerts  []json.RawMessage `json:"alerts"`
		}
		if err := json.Unmarshal(body, &notification); err != nil {
			http.Error(w, "bad webhook JSON: "+err.Error(), http.StatusBadRequest)
			return
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, body); err != nil {
			http.Error(w, "bad webhook JSON: "+err.Error(), http.StatusBadRequest)
			return
		}
		e := entry{ReceivedAt: time.Now().UTC().Format(time.RFC3339Nano), Payload: compact.Bytes()}
		if err := s.add(e); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("GET /alerts", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.list())
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	return mux
}

func main() {
	listen := flag.String("listen_address", ":9095", "address to listen on")
	keep := flag.Int("keep", 500, "notifications kept in memory for GET /alerts")
	flag.Parse()
	if *keep < 1 {
		log.Fatal("-keep must be at least 1")
	}
	s := &store{max: *keep, out: os.Stdout}
	server := &http.Server{Addr: *listen, Handler: newHandler(s), ReadHeaderTimeout: 10 * time.Second}
	log.Printf("alert-receiver listening on %s, keeping %d notifications", *listen, *keep)
	log.Fatal(server.ListenAndServe())
}
