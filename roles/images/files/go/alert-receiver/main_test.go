package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const payload = `{"version":"4","groupKey":"{}:{alertname=\"ServiceDown\"}","truncatedAlerts":0,
 "status":"firing","receiver":"drill","groupLabels":{"alertname":"ServiceDown"},
 "commonLabels":{"alertname":"ServiceDown","severity":"critical"},"commonAnnotations":{},
 "externalURL":"http://alertmanager:9093","alerts":[{"status":"firing",
 "labels":{"alertname":"ServiceDown","service":"web"},"annotations":{"summary":"web is down"},
 "startsAt":"2025-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"abc"}]}`

func serve(t *testing.T, keep int) (*httptest.Server, *bytes.Buffer) {
	t.Helper()
	var out bytes.Buffer
	srv := httptest.NewServer(newHandler(&store{max: keep, out: &out}))
	t.Cleanup(srv.Close)
	return srv, &out
}

func post(t *testing.T, url, body string) int {
	t.Helper()
	resp, err := http.Post(url+"/alerts", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func list(t *testing.T, url string) []entry {
	t.Helper()
	resp, err := http.Get(url + "/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got []entry
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestReceiveAndList(t *testing.T) {
	srv, out := serve(t, 500)
	if got := list(t, srv.URL); got == nil || len(got) != 0 {
		t.Fatalf("empty store: got %#v, want []", got)
	}
	if code := post(t, srv.URL, payload); code != http.StatusOK {
		t.Fatalf("POST: %d", code)
	}
	got := list(t, srv.URL)
	if len(got) != 1 {
		t.Fatalf("got %d entries, want 1", len(got))
	}
	if _, err := time.Parse(time.RFC3339Nano, got[0].ReceivedAt); err != nil {
		t.Errorf("received_at: %v", err)
	}
	var want, have map[string]any
	_ = json.Unmarshal([]byte(payload), &want)
	_ = json.Unmarshal(got[0].Payload, &have)
	if marshal(have) != marshal(want) {
		t.Errorf("payload changed:\n%s\nwant\n%s", marshal(have), marshal(want))
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 || !json.Valid([]byte(lines[0])) {
		t.Errorf("want one JSON log line, got %q", out.String())
	}
}

func marshal(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestKeepsLastN(t *testing.T) {
	srv, _ := serve(t, 2)
	for _, status := range []string{"a", "b", "c"} {
		post(t, srv.URL, `{"version":"4","status":"`+status+`","alerts":[]}`)
	}
	got := list(t, srv.URL)
	if len(got) != 2 || !strings.Contains(string(got[0].Payload), `"b"`) || !strings.Contains(string(got[1].Payload), `"c"`) {
		t.Fatalf("want the last two (b, c), got %s", marshal(got))
	}
}

func TestBadJSON(t *testing.T) {
	srv, out := serve(t, 500)
	for _, body := range []string{`{"version":"4",`, `not json`, `[1,2]`, ``} {
		if code := post(t, srv.URL, body); code != http.StatusBadRequest {
			t.Errorf("POST %q: %d, want 400", body, code)
		}
	}
	if n := len(list(t, srv.URL)); n != 0 || out.Len() != 0 {
		t.Errorf("bad requests were kept (%d) or logged (%q)", n, out.String())
	}
}

func TestHealthzAndMethods(t *testing.T) {
	srv, _ := serve(t, 500)
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "ok" {
		t.Errorf("healthz: %d %q", resp.StatusCode, body)
	}
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/alerts", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("DELETE /alerts: %d, want 405", resp.StatusCode)
	}
}
