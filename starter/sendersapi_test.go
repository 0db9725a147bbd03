package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"digitalpost/internal/clients/api"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/testenv"
)

// run runs the command line with args and returns what it printed and its exit code. As a
// command is a process of its own, the variables it sets (config.Load takes the dev runtime's
// from dev.env) are undone after it.
func run(t *testing.T, args ...string) (stdout string, code int, err error) {
	t.Helper()
	env := os.Environ()
	defer func() {
		os.Clearenv()
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			os.Setenv(k, v)
		}
	}()
	r, w, perr := os.Pipe()
	if perr != nil {
		t.Fatal(perr)
	}
	saved := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		var b bytes.Buffer
		_, _ = io.Copy(&b, r)
		done <- b.String()
	}()
	root := newRoot()
	root.SetArgs(args)
	err = root.ExecuteContext(context.Background())
	os.Stdout = saved
	w.Close()
	stdout = <-done
	if err != nil {
		code = exitCode(err)
	}
	return stdout, code, err
}

// A sender's commands are clients of the senders' API: with nothing but the API's address
// and a key they send, follow and run batches; no database, no payload keys, no Temporal.
// The key decides the sender: another sender's letter does not exist for it.
func TestSenderCommandsNeedOnlyAnAPIKey(t *testing.T) {
	sys := testenv.StartSystem(t)
	ctx := context.Background()
	for _, s := range []registry.Sender{{ID: "region-midt", Organisation: "Region Midtjylland"}, {ID: "skat", Organisation: "Skattestyrelsen"}} {
		if err := sys.Registry.AddSender(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	const cpr = "010180-1234"
	if _, err := sys.Registry.AddCitizen(ctx, registry.NewCitizen{CPR: cpr, Name: "Anna Jensen", Address: "Vestergade 1\n8000 Aarhus C",
		Email: "anna@example.dk", Mobile: "+4520000001"}); err != nil {
		t.Fatal(err)
	}
	server, err := api.New(sys.Engine.PostOffice, sys.Engine.Config, sys.Engine.Readiness(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server)
	t.Cleanup(srv.Close)
	_, regionKey, err := sys.APIKeys.Create(ctx, "region-midt")
	if err != nil {
		t.Fatal(err)
	}
	_, skatKey, err := sys.APIKeys.Create(ctx, "skat")
	if err != nil {
		t.Fatal(err)
	}

	// Nothing of the system's own: no database, no Temporal, no payload keys, no dev runtime.
	for _, k := range []string{"DATABASE_URL", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_TASK_QUEUE", "PAYLOAD_KEYS"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("DEV_DATA_DIR", t.TempDir())
	t.Setenv("LOG_LEVEL", "error")
	t.Setenv("DIGITALPOST_API", srv.URL)
	t.Setenv("DIGITALPOST_API_KEY", regionKey)

	out, _, err := run(t, "send", "--to", cpr, "--subject", "Indkaldelse", "--text", "Du er indkaldt.")
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	id := strings.TrimSpace(out)
	testenv.Eventually(t, 30*time.Second, "`status` showing the letter notified", func() bool {
		out, _, err := run(t, "status", id, "--json")
		var l struct {
			ID      string `json:"id"`
			Status  string `json:"status"`
			Notices []any  `json:"notices"`
		}
		return err == nil && json.Unmarshal([]byte(out), &l) == nil && l.ID == id && l.Status == "notified" && len(l.Notices) == 2
	})
	if out, _, err := run(t, "status", id); err != nil || !strings.Contains(out, "status   notified") || !strings.Contains(out, "notice   sms new-post: sent") {
		t.Fatalf("status: %v\n%s", err, out)
	}
	if out, _, err := run(t, "letters"); err != nil || !strings.Contains(out, id) {
		t.Fatalf("letters: %v\n%s", err, out)
	}

	file := filepath.Join(t.TempDir(), "run.csv")
	if err := os.WriteFile(file, []byte("message_id,to,subject,text\nrun-1,"+cpr+",Til alle,Tekst\nrun-2,"+cpr+",Til alle,Tekst\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err = run(t, "bulk", "--file", file)
	if err != nil || len(strings.TrimSpace(out)) != 36 {
		t.Fatalf("bulk: %v, printed %q, want the batch id", err, out)
	}
	if n := countLetters(t, sys, "region-midt"); n != 3 {
		t.Fatalf("region-midt has %d letters after one letter and a run of two", n)
	}

	// The key decides the sender: another sender's letter is not there, and --sender is refused.
	t.Setenv("DIGITALPOST_API_KEY", skatKey)
	if _, code, err := run(t, "status", id); code != 2 || !strings.Contains(err.Error(), "404") {
		t.Fatalf("status of another sender's letter: exit %d, %v; want 2 and not found", code, err)
	}
	if _, code, err := run(t, "withdraw", id); code != 2 {
		t.Fatalf("withdraw another sender's letter: exit %d, %v; want 2", code, err)
	}
	if _, code, err := run(t, "send", "--sender", "region-midt", "--to", cpr, "--subject", "x", "--text", "y"); code != 2 || !strings.Contains(err.Error(), "--sender") {
		t.Fatalf("--sender beside a key: exit %d, %v; want 2 naming --sender", code, err)
	}
	if n := countLetters(t, sys, "region-midt"); n != 3 {
		t.Fatalf("region-midt has %d letters; a refused command wrote one", n)
	}

	// Without a key and without the dev runtime the command says what to do.
	t.Setenv("DIGITALPOST_API_KEY", "")
	if _, _, err := run(t, "status", id); err == nil || !strings.Contains(err.Error(), "DIGITALPOST_API_KEY") {
		t.Fatalf("no key: %v, want it to name DIGITALPOST_API_KEY", err)
	}

	// Beside the dev runtime (its dev.env names the system) --sender picks the demo sender,
	// whose key the first command makes and the next ones reuse.
	dev := t.TempDir()
	t.Setenv("DEV_DATA_DIR", dev)
	t.Setenv("DIGITALPOST_API", "")
	os.Unsetenv("DIGITALPOST_API")
	if err := os.WriteFile(filepath.Join(dev, "dev.env"), []byte("DATABASE_URL="+sys.Config.DatabaseURL+"\nDIGITALPOST_API="+srv.URL+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, code, err := run(t, "send", "--to", cpr, "--subject", "x", "--text", "y"); code != 2 || !strings.Contains(err.Error(), "--sender") {
		t.Fatalf("dev runtime without --sender: exit %d, %v; want 2 naming --sender", code, err)
	}
	var skatLetter string
	for range 2 {
		out, _, err := run(t, "send", "--sender", "skat", "--to", cpr, "--subject", "Årsopgørelse", "--text", "Tekst")
		if err != nil {
			t.Fatalf("send beside the dev runtime: %v", err)
		}
		skatLetter = strings.TrimSpace(out)
	}
	// A command about one letter acts as the letter's sender when --sender is left out.
	if out, _, err := run(t, "status", skatLetter); err != nil || !strings.Contains(out, "letter   "+skatLetter) {
		t.Fatalf("status beside the dev runtime without --sender: %v\n%s", err, out)
	}
	if n := countLetters(t, sys, "skat"); n != 2 {
		t.Fatalf("skat has %d letters after two sends beside the dev runtime", n)
	}
	var keys int
	if err := sys.DB.QueryRow(ctx, `SELECT count(*) FROM sender_api_keys WHERE sender_id = 'skat'`).Scan(&keys); err != nil || keys != 2 {
		t.Fatalf("skat has %d keys (%v): the test's own and one dev key, made once", keys, err)
	}
	if info, err := os.Stat(filepath.Join(dev, "api-keys", "skat")); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the dev key's file: %v %v, want it kept readable by its owner only", info, err)
	}
	// A kept key the dev database no longer knows (it was reset) is removed, saying so, and the
	// next command makes a new one.
	if err := os.WriteFile(filepath.Join(dev, "api-keys", "skat"), []byte("dpk_gone_0000000000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, code, err := run(t, "status", "--sender", "skat", skatLetter); code != 1 || !strings.Contains(err.Error(), "no longer works") {
		t.Fatalf("a stale dev key: exit %d, %v; want 1, saying the key is removed", code, err)
	}
	if _, _, err := run(t, "status", "--sender", "skat", skatLetter); err != nil {
		t.Fatalf("the command after a stale dev key was removed: %v", err)
	}
}

func countLetters(t *testing.T, sys *testenv.System, sender string) int {
	t.Helper()
	var n int
	if err := sys.DB.QueryRow(context.Background(), `SELECT count(*) FROM letters WHERE sender_id = $1`, sender).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Commands that act as a citizen or a caseworker stand in for people who sign in on the
// pages: outside the dev runtime's demo they are refused before anything connects.
func TestCitizenAndCaseworkerCommandsAreTheDemosOnly(t *testing.T) {
	t.Setenv("DEV_DATA_DIR", t.TempDir())
	t.Setenv("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none") // reaching it would say so instead
	for _, args := range [][]string{
		{"open", "3f1c2a4e-0000-4000-8000-000000000001", "--as", "010180-1234"},
		{"exemption", "decide", "3f1c2a4e-0000-4000-8000-000000000001", "--approve"},
		{"enrol", "010180-1234"},
	} {
		if _, _, err := run(t, args...); err == nil || !strings.Contains(err.Error(), "dev runtime's demo") {
			t.Errorf("%q outside the dev runtime: %v, want it refused as the demo's only", args, err)
		}
	}
}
