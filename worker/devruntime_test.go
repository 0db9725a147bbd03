package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"digitalpost/internal/infra/devenv"
	"digitalpost/internal/infra/store"
)

// A SIGKILLed `worker -dev` takes its Temporal dev server with it, and the next start just
// works: before, the dev server kept the port and the next start failed.
func TestDevRuntimeRestartsAfterSIGKILL(t *testing.T) {
	if _, ok := devenv.FindTemporalCLI(); !ok {
		t.Fatalf("this test needs the Temporal CLI: %s", devenv.InstallHint)
	}
	dbURL := testDatabase(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "worker")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build the worker: %v\n%s", err, out)
	}
	// Every port the worker opens itself is the kernel's choice (port 0), so a developer's own
	// `worker -dev` on 8080, 8233 or 8234 cannot break this test; only the Temporal dev server's
	// port must be named in advance, since the CLI is told it.
	port := testPort(t)
	env := append(os.Environ(), "DEV_DATA_DIR="+filepath.Join(dir, "devdata"), "DATABASE_URL="+dbURL,
		fmt.Sprintf("TEMPORAL_ADDRESS=127.0.0.1:%d", port), "TEMPORAL_UI_PORT=0", "HTTP_ADDR=127.0.0.1:0",
		"CODEC_SERVER_ADDR=127.0.0.1:0", "METRICS_ADDR=")
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "-dev")
		cmd.Env = env
		// A test that fails half-way leaves no worker behind: the kernel kills it with the
		// test binary, and the cleanup below does when the test ends.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		t.Cleanup(func() {
			if cmd.Process != nil && cmd.ProcessState == nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
		})
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		up := make(chan bool, 1)
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				if strings.Contains(sc.Text(), "worker running") {
					up <- true
				}
			}
			up <- false
		}()
		select {
		case ok := <-up:
			if !ok {
				t.Fatal("worker -dev exited before it was up")
			}
		case <-time.After(90 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatal("worker -dev was not up within 90 s")
		}
		go func() { _, _ = io.Copy(io.Discard, stderr) }()
		return cmd
	}
	first := start()
	_ = first.Process.Signal(syscall.SIGKILL)
	_ = first.Wait()
	released := false
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err != nil {
			released = true
			break
		}
		c.Close()
	}
	if !released {
		t.Fatal("the dev server outlived the SIGKILLed worker and kept its port")
	}
	second := start()
	_ = second.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- second.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = second.Process.Kill()
		t.Fatal("worker -dev did not stop on Ctrl-C within 30 s")
	}
}

func testDatabase(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, store.TestServerURL())
	if err != nil {
		t.Fatalf("this test needs PostgreSQL at %s: %v", store.TestServerURL(), err)
	}
	defer admin.Close(ctx)
	name := fmt.Sprintf("dp_devruntime_%d", time.Now().UnixNano())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), store.TestServerURL())
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	})
	cfg, _ := pgx.ParseConfig(store.TestServerURL())
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name)
}

func testPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
