package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"digitalpost/internal/clients/api"
	"digitalpost/internal/infra/engine"
	"digitalpost/internal/infra/testenv"
)

// A client that sends its headers and then trickles the body held a connection and a
// goroutine for as long as it liked: the server had no read timeout past the headers
// (issue 23, M1). Now every request has until BodyTimeout to arrive.
func TestATricklingBodyIsCutOff(t *testing.T) {
	sys := testenv.StartSystem(t)
	s, err := api.New(sys.Engine.PostOffice, sys.Engine.Config, sys.Engine.Readiness(), slog.New(slog.NewTextHandler(io.Discard, nil)))
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
	// The server's answer, then its close (EOF, so no error) end the read; only a connection
	// still held after a timeout thirty times BodyTimeout ends it with our deadline's error.
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if answer, err := io.ReadAll(conn); err != nil {
		t.Fatalf("the connection was still held after 10s by a body that never came (%v); answered so far: %q", err, answer)
	}
}

// /readyz answers anyone who reaches the port: with the database down it quoted the driver's
// error, which names the database's host, port and user (issue 23, L6).
func TestReadinessNamesNoHostOrUser(t *testing.T) {
	db, err := pgxpool.New(context.Background(), "postgres://secret_user@127.0.0.1:1/secret_db?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tc, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:2", Logger: log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	rec := httptest.NewRecorder()
	api.Ready((&engine.Engine{DB: db, Temporal: tc}).Readiness()...)(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	body := rec.Body.String()
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(body, "PostgreSQL does not answer") || !strings.Contains(body, "Temporal does not answer") {
		t.Fatalf("%d %s", rec.Code, body)
	}
	for _, secret := range []string{"secret_user", "secret_db", "127.0.0.1", ":1", ":2"} {
		if strings.Contains(body, secret) {
			t.Errorf("/readyz tells %q: %s", secret, body)
		}
	}
}
