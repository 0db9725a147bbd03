package api_test

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"digitalpost/internal/api"
	"digitalpost/internal/testenv"
)

// A client that sends its headers and then trickles the body held a connection and a
// goroutine for as long as it liked: the server had no read timeout past the headers
// (issue 23, M1). Now every request has until BodyTimeout to arrive.
func TestATricklingBodyIsCutOff(t *testing.T) {
	sys := testenv.StartSystem(t)
	s, err := api.New(sys.Engine, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	s.BodyTimeout = 300 * time.Millisecond
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "POST /log-ind/afsender HTTP/1.1\r\nHost: digitalpost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\ntoken=")
	start := time.Now()
	_ = conn.SetReadDeadline(start.Add(10 * time.Second))
	_, _ = io.ReadAll(conn) // the answer, then the server closes the connection
	if held := time.Since(start); held > 5*time.Second {
		t.Fatalf("the connection was held %s by a body that never came", held.Round(time.Second))
	}
}
