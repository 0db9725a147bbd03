package devenv

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// LocalServerURL is where a machine's own PostgreSQL usually listens.
const LocalServerURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Postgres is a PostgreSQL the dev runtime found or started.
type Postgres struct {
	URL     string
	Where   string // said to the user: which of the three it is
	DataDir string // a private cluster's data folder
	stop    func()
}

// Stop stops a private cluster; a server we did not start is left alone.
func (p *Postgres) Stop() {
	if p.stop != nil {
		p.stop()
	}
}

// FindPostgres picks, in order: DATABASE_URL; the local server; a private cluster started
// from the local PostgreSQL binaries in dataDir. The database "digitalpost" is created
// on the local server or private cluster when missing.
func FindPostgres(ctx context.Context, databaseURL, dataDir string, log func(string)) (*Postgres, error) {
	if databaseURL != "" {
		return &Postgres{URL: databaseURL, Where: "DATABASE_URL"}, nil
	}
	if u, err := ensureDatabase(ctx, LocalServerURL, "digitalpost"); err == nil {
		return &Postgres{URL: u, Where: "the local server at 127.0.0.1:5432"}, nil
	}
	log("no PostgreSQL at 127.0.0.1:5432; starting a private cluster from the local PostgreSQL binaries")
	return startPrivateCluster(ctx, filepath.Join(dataDir, "postgres"))
}

// ensureDatabase creates the database on the server when missing and returns its URL.
func ensureDatabase(ctx context.Context, serverURL, name string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", err
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return "", err
		}
	}
	u, _ := url.Parse(serverURL)
	u.Path = "/" + name
	return u.String(), nil
}

const privatePort = 55432

func startPrivateCluster(ctx context.Context, dir string) (*Postgres, error) {
	bin, err := postgresBinDir()
	if err != nil {
		return nil, err
	}
	abs, _ := filepath.Abs(dir)
	// PostgreSQL refuses to run as root; as root, run it as the postgres system user, with its
	// data in that user's home: it may not be able to enter the project's folder (say, under
	// /root). The folder is named after the project's data folder, so restarts find it again.
	var asUser []string
	if os.Geteuid() == 0 {
		pgUser, err := user.Lookup("postgres")
		if err != nil {
			return nil, errors.New("running as root and there is no postgres user to run a private cluster as")
		}
		runuser := "runuser"
		if _, err := exec.LookPath(runuser); err != nil {
			runuser = "/usr/sbin/runuser" // root's tools, missing from a trimmed PATH
		}
		asUser = []string{runuser, "-u", "postgres", "--"}
		abs = filepath.Join(pgUser.HomeDir, "digitalpost-dev", fmt.Sprintf("%x", sha256.Sum256([]byte(abs)))[:12])
	}
	run := func(name string, args ...string) error {
		full := append(append(asUser, filepath.Join(bin, name)), args...)
		out, err := exec.CommandContext(ctx, full[0], full[1:]...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %v: %s", name, err, out)
		}
		return nil
	}
	if _, err := os.Stat(filepath.Join(abs, "PG_VERSION")); err != nil {
		if err := os.MkdirAll(abs, 0o700); err != nil {
			return nil, err
		}
		if asUser != nil {
			if err := exec.Command("chown", "-R", "postgres:postgres", filepath.Dir(abs)).Run(); err != nil {
				return nil, fmt.Errorf("chown %s: %w", abs, err)
			}
		}
		if err := run("initdb", "-D", abs, "-U", "postgres", "--auth=trust", "--encoding=UTF8"); err != nil {
			return nil, err
		}
	}
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -k %s", privatePort, abs)
	// A dev runtime that was SIGKILLed leaves its cluster running (pg_ctl daemonizes it):
	// this data folder is ours, so the next start takes it over instead of failing.
	if run("pg_ctl", "-D", abs, "status") != nil {
		if err := run("pg_ctl", "-D", abs, "-o", opts, "-l", filepath.Join(abs, "server.log"), "-w", "start"); err != nil {
			return nil, err
		}
	}
	stop := func() { _ = run("pg_ctl", "-D", abs, "-m", "fast", "stop") }
	server := "postgres://postgres@127.0.0.1:" + strconv.Itoa(privatePort) + "/postgres?sslmode=disable"
	u, err := ensureDatabase(ctx, server, "digitalpost")
	if err != nil {
		stop()
		return nil, err
	}
	return &Postgres{URL: u, Where: "a private cluster in " + abs, DataDir: abs, stop: stop}, nil
}

func postgresBinDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Strings(dirs)
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	return "", errors.New("no PostgreSQL found: set DATABASE_URL, start a server on 127.0.0.1:5432, or install PostgreSQL's binaries (apt-get install postgresql)")
}
