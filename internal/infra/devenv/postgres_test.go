package devenv

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// The third choice of the dev runtime: no DATABASE_URL and no server, so it starts its own
// cluster from the local PostgreSQL binaries, and finds it again after a restart.
func TestPrivateClusterStartsServesAndRestarts(t *testing.T) {
	if _, err := postgresBinDir(); err != nil {
		t.Fatalf("this test needs PostgreSQL's binaries (apt-get install postgresql): %v", err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	for run := range 2 {
		pg, err := startPrivateCluster(ctx, dir)
		if err != nil {
			t.Fatalf("start %d: %v", run+1, err)
		}
		t.Cleanup(func() { os.RemoveAll(pg.DataDir) })
		c, err := pgx.Connect(ctx, pg.URL)
		if err != nil {
			pg.Stop()
			t.Fatalf("connect %d: %v", run+1, err)
		}
		var db string
		err = c.QueryRow(ctx, "SELECT current_database()").Scan(&db)
		c.Close(ctx)
		pg.Stop()
		if err != nil || db != "digitalpost" {
			t.Fatalf("run %d: database %q, %v", run+1, db, err)
		}
	}
}
