package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/bulkfile"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/infra/store"
)

// The suite's own cluster (-cluster): scripts/temporal-cluster with a database prefix, ports
// and a folder of its own, so a developer's cluster (the script's defaults: temporal_cluster,
// ports 7233…, .devdata/temporal-cluster) can run beside it.
const (
	clusterDB = "temporal_faults"
	// defaultPortOffset puts the cluster's ports at 27233… (gRPC), 26933… (membership) and
	// 29301… (metrics): clear of a developer's cluster, of the dev runtime's 7233/8233/8234
	// and 8080, and below Linux's ephemeral range (32768…). FAULTS_PORT_OFFSET overrides it.
	defaultPortOffset = 20000
	clusterShards     = 512 // scripts/temporal-cluster's fixed count

	deploymentName = "digitalpost"
	clusterBuild   = "v1" // the build the cluster's workers start as; the rolling upgrade brings v2
	upgradeBuild   = "v2"

	// PostgreSQL's 100 connections (97 for us): the cluster's pools hold 49 at most, our two
	// workers 12 each, the suite's own pool 6, the API process 6; during the rolling upgrade
	// the two v2 workers take 8 each beside the v1 ones (49+24+16+6 = 95).
	workerConnsOnCluster  = 12
	upgradeConnsOnCluster = 8
	apiConnsOnCluster     = 6
	suitePoolOnCluster    = 6
	clusterConns          = 49
)

// The base ports of scripts/temporal-cluster, before PORT_OFFSET: every one must be free.
var clusterPorts = []int{7233, 7243, 6933, 7253, 7263, 6953, 7234, 6934, 7254, 6954, 7235, 6935, 7255, 6955, 7239, 6939,
	9301, 9302, 9303, 9304, 9305, 9306, 9307}

// cluster drives scripts/temporal-cluster for the suite.
type cluster struct {
	root, script, dir, db, scriptLog string
	offset                           int
	pg                               *pgx.ConnConfig // the server the cluster's databases live on
	log                              func(string, ...any)
}

func startCluster(ctx context.Context, suiteDir string, log func(string, ...any)) (*cluster, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return nil, err
	}
	pg, err := pgx.ParseConfig(store.TestServerURL())
	if err != nil {
		return nil, err
	}
	c := &cluster{root: root, script: filepath.Join(root, "scripts", "temporal-cluster"), dir: filepath.Join(suiteDir, "cluster"),
		db: clusterDB, scriptLog: filepath.Join(suiteDir, "cluster-script.log"), offset: defaultPortOffset, pg: pg, log: log}
	if v := os.Getenv("FAULTS_PORT_OFFSET"); v != "" {
		if c.offset, err = strconv.Atoi(v); err != nil {
			return nil, fmt.Errorf("FAULTS_PORT_OFFSET: %w", err)
		}
	}
	c.stopLeftovers(ctx)
	for _, p := range clusterPorts {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+c.offset))
		if err != nil {
			return nil, fmt.Errorf("port %d is taken, the suite's cluster needs it (PORT_OFFSET=%d; FAULTS_PORT_OFFSET chooses another): %w",
				p+c.offset, c.offset, err)
		}
		l.Close()
	}
	c.budget(ctx)
	// The databases of an earlier run (kept with FAULTS_KEEP, or left by a suite that died)
	// are dropped: every run starts on an empty cluster.
	if err := c.run(ctx, "reset"); err != nil {
		return nil, err
	}
	start := time.Now()
	if err := c.start(ctx); err != nil {
		return c, err
	}
	log("Temporal cluster up in %s: frontends %s and %s, databases %s*, logs in %s", time.Since(start).Round(time.Second),
		c.frontend(1), c.frontend(2), c.db, c.dir)
	return c, nil
}

// run runs scripts/temporal-cluster with the suite's database prefix, ports and folder; its
// output goes to cluster-script.log.
func (c *cluster) run(ctx context.Context, args ...string) error {
	out, err := os.OpenFile(c.scriptLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	defer out.Close()
	fmt.Fprintf(out, "\n== %s scripts/temporal-cluster %s\n", time.Now().Format(time.TimeOnly), strings.Join(args, " "))
	var tail bytes.Buffer
	cmd := exec.CommandContext(ctx, c.script, args...)
	cmd.Dir = c.root
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "CLUSTER_DB="+c.db, fmt.Sprintf("PORT_OFFSET=%d", c.offset), "CLUSTER_DIR="+c.dir,
		"PG_HOST="+c.pg.Host, fmt.Sprintf("PG_PORT=%d", c.pg.Port), "PG_USER="+c.pg.User)
	cmd.Stdout, cmd.Stderr = out, io.MultiWriter(out, &tail)
	if err := cmd.Run(); err != nil {
		lines := strings.Split(strings.TrimSpace(tail.String()), "\n")
		return fmt.Errorf("scripts/temporal-cluster %s: %v: %s (whole output in %s)", strings.Join(args, " "), err,
			strings.Join(lines[max(0, len(lines)-3):], " / "), c.scriptLog)
	}
	return nil
}

func (c *cluster) start(ctx context.Context) error {
	if err := c.run(ctx, "start"); err != nil {
		return err
	}
	return c.tune()
}

func (c *cluster) stop(ctx context.Context) error { return c.run(ctx, "stop") }

func (c *cluster) kill(ctx context.Context, name string) error { return c.run(ctx, "kill", name) }

// restart starts one process again; the script writes the dynamic config afresh, so the
// suite's lines go back in.
func (c *cluster) restart(ctx context.Context, name string) error {
	if err := c.run(ctx, "restart", name); err != nil {
		return err
	}
	return c.tune()
}

// close stops the cluster and drops its databases, or with FAULTS_KEEP only stops it.
func (c *cluster) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	what := "reset"
	if os.Getenv("FAULTS_KEEP") != "" {
		what = "stop"
		c.log("kept the cluster's databases %s and %s_visibility (scripts/temporal-cluster reset with CLUSTER_DB=%s drops them)", c.db, c.db, c.db)
	}
	if err := c.run(ctx, what); err != nil {
		c.log("cluster %s: %v", what, err)
	}
}

// exited names the cluster's processes that died without the suite killing them: a pid file
// (the script removes it on kill and stop) whose process is gone.
func (c *cluster) exited() []string {
	var dead []string
	files, _ := filepath.Glob(filepath.Join(c.dir, "*.pid"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if _, err := os.Stat("/proc/" + strings.TrimSpace(string(b))); err != nil {
			dead = append(dead, strings.TrimSuffix(filepath.Base(f), ".pid"))
		}
	}
	return dead
}

// frontend is the gRPC address of frontend-i (1 or 2).
func (c *cluster) frontend(i int) string { return fmt.Sprintf("127.0.0.1:%d", 7233+20*(i-1)+c.offset) }

// history is the gRPC address of history-i, the name a shard's owner is recorded under.
func (c *cluster) history(i int) string { return fmt.Sprintf("127.0.0.1:%d", 7234+20*(i-1)+c.offset) }

// drainageTuning makes a draining version's status visible within the row: the server's
// defaults (3-minute visibility grace, then a check every 3 minutes) are production's and
// stay so in deploy/temporal/dynamicconfig.yaml; only the suite's copy is changed.
const drainageTuning = `
# The fault suite's own (faults/cluster.go): a draining version reports drained within a row.
matching.wv.VersionDrainageStatusVisibilityGracePeriod:
  - value: 30s
matching.wv.VersionDrainageStatusRefreshInterval:
  - value: 10s
`

// tune appends drainageTuning to the cluster's copy of the dynamic config, which the server
// reads every 10 s.
func (c *cluster) tune() error {
	file := filepath.Join(c.dir, "dynamicconfig.yaml")
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if bytes.Contains(b, []byte("VersionDrainageStatusVisibilityGracePeriod")) {
		return nil
	}
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(drainageTuning)
	return errors.Join(err, f.Close())
}

// stopLeftovers stops the clusters of earlier suites that died without stopping theirs
// (their processes outlive them: the script starts them with nohup), found by their pid files
// under the temporary folder and checked against the process's command line.
func (c *cluster) stopLeftovers(ctx context.Context) {
	pids, _ := filepath.Glob(filepath.Join(os.TempDir(), "digitalpost-faults-*", "cluster", "*.pid"))
	stopped := map[string]bool{}
	for _, f := range pids {
		dir := filepath.Dir(f)
		b, err := os.ReadFile(f)
		if err != nil || stopped[dir] {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%s/cmdline", strings.TrimSpace(string(b))))
		if err != nil || !bytes.Contains(cmdline, []byte(dir)) {
			continue
		}
		stopped[dir] = true
		old := *c
		old.dir = dir
		c.log("stopping the cluster an earlier suite left running in %s", dir)
		if err := old.run(ctx, "stop"); err != nil {
			c.log("  %v", err)
		}
	}
}

// budget warns when PostgreSQL has too few connections left for the cluster and our processes.
func (c *cluster) budget(ctx context.Context) {
	conn, err := pgx.ConnectConfig(ctx, c.pg)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	var most, used int
	if conn.QueryRow(ctx, `SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int,
		(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')`).Scan(&most, &used) != nil {
		return
	}
	need := clusterConns + 2*workerConnsOnCluster + 2*upgradeConnsOnCluster + suitePoolOnCluster
	if most-used < need {
		c.log("WARNING: PostgreSQL has %d connections in use of %d; the cluster and our processes need up to %d more "+
			"(is a developer's scripts/temporal-cluster running? it holds up to %d)", used, most, need, clusterConns)
	}
}

// shardOwners counts the shards each history process holds, as the shards table records
// them (a shard's owner is its history process's address).
func (c *cluster) shardOwners(ctx context.Context) (map[int]int, error) {
	cfg := c.pg.Copy()
	cfg.Database = c.db
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT data FROM shards`)
	if err != nil {
		return nil, err
	}
	datas, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, err
	}
	owners := map[int]int{}
	for _, d := range datas {
		for i := 1; i <= 2; i++ {
			if bytes.Contains(d, []byte(c.history(i)+"-")) {
				owners[i]++
			}
		}
	}
	return owners, nil
}

// clusterWarmUp readies the cluster for the rows. The first build's workers, started
// together, make v1 the deployment's current version, and both must still run: before
// 3e2e22a they raced to set it and the loser exited ("conflict token mismatch", see
// RELIABILITY.md). And every frontend must know the letters' search attributes: a cluster's
// processes learn a namespace's new ones at their next refresh, and refuse a letter's start
// until then.
func (e *env) clusterWarmUp(ctx context.Context) error {
	h := e.tc.WorkerDeploymentClient().GetHandle(deploymentName)
	if err := retry(ctx, 2*time.Minute, func() error {
		desc, err := h.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
		if err != nil {
			return err
		}
		if cur := desc.Info.RoutingConfig.CurrentVersion; cur == nil || cur.BuildID != clusterBuild {
			return errors.New("v1 is not current yet")
		}
		return nil
	}); err != nil {
		return fmt.Errorf("the v1 workers making v1 current: %w", err)
	}
	sleep(ctx, time.Second)
	for _, w := range e.workers {
		if !w.running() {
			return fmt.Errorf("%s exited at its first start (see %s)", w.name, w.log)
		}
	}
	for i := 1; i <= 2; i++ {
		c, err := client.DialContext(ctx, client.Options{HostPort: e.cluster.frontend(i), Namespace: e.cfg.TemporalNamespace,
			Logger: quietSDKLogger()})
		if err != nil {
			return err
		}
		err = retry(ctx, time.Minute, func() error {
			_, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: e.cfg.TemporalNamespace,
				Query: "LetterStatus = 'probe'"})
			return err
		})
		c.Close()
		if err != nil {
			return fmt.Errorf("frontend-%d does not know the search attributes: %w", i, err)
		}
	}
	sleep(ctx, 10*time.Second) // the history processes' refresh, which no query shows
	return nil
}

// watchConnections samples PostgreSQL's client connections every second until ctx ends: all
// of them, and the suite's own (its cluster's databases and its database). Each row logs its
// peak (connPeak), so the budget above is measured, not assumed.
func (e *env) watchConnections(ctx context.Context) {
	for ctx.Err() == nil {
		var all, ours int
		if e.db.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE datname LIKE $1 OR datname = $2)
			FROM pg_stat_activity WHERE backend_type = 'client backend'`, e.cluster.db+"%", e.dbName).Scan(&all, &ours) == nil {
			e.connMu.Lock()
			e.connPeak = [2]int{max(e.connPeak[0], all), max(e.connPeak[1], ours)}
			e.connMu.Unlock()
		}
		sleep(ctx, time.Second)
	}
}

// takeConnPeak returns the peak since the last call and starts a new one.
func (e *env) takeConnPeak() (all, ours int) {
	e.connMu.Lock()
	defer e.connMu.Unlock()
	p := e.connPeak
	e.connPeak = [2]int{}
	return p[0], p[1]
}

// workerIn is a worker process of build on frontend-i, as one pod of a Deployment.
func (e *env) workerIn(name string, frontend int, build string, conns int) *proc {
	env := append(slices.Clone(e.workerEnv), "SERVE=worker", "TEMPORAL_ADDRESS="+e.cluster.frontend(frontend),
		fmt.Sprintf("DATABASE_MAX_CONNS=%d", conns), "WORKER_DEPLOYMENT_NAME="+deploymentName, "WORKER_BUILD_ID="+build)
	return &proc{name: name, env: env, log: filepath.Join(e.dir, name+".log")}
}

// restartWorkers starts the killed workers again, unless -no-restart.
func (e *env) restartWorkers() error {
	if e.noRestart {
		e.note("workers not started again (-no-restart)")
		return nil
	}
	return e.startWorker()
}

// The cluster's own rows, after the suite's usual ones: Temporal's processes and ours killed
// one at a time, and a new build rolled out while letters move.
func clusterScenarios(s settings) []scenario {
	n := s.Letters
	return []scenario{
		{name: "history-1 SIGKILL mid-run, back after 10 s (its shards move)", letters: n, fault: func(ctx context.Context, e *env) error {
			return e.killTemporalProcess(ctx, "history-1", 10*time.Second)
		}},
		{name: "matching-1 SIGKILL mid-run, back after 10 s", letters: n, fault: func(ctx context.Context, e *env) error {
			return e.killTemporalProcess(ctx, "matching-1", 10*time.Second)
		}},
		{name: "one of two workers SIGKILL mid-run, the other carries on", letters: n, callsCut: 1, fault: func(ctx context.Context, e *env) error {
			waitForNotices(ctx, e, 5)
			e.workers[0].kill()
			e.note("%s killed, %s alone until the count; %s started again after it", e.workers[0].name, e.workers[1].name, e.workers[0].name)
			return nil
		}, after: func(ctx context.Context, e *env, r *result) {
			if err := e.restartWorkers(); err != nil {
				r.Note = "starting the worker again: " + err.Error()
			}
		}},
		{name: "API SIGKILL right after its 202 to POST /v1/batches", letters: n, submit: func(ctx context.Context, e *env, subs []postoffice.Submission) ([]uuid.UUID, error) {
			return e.submitThroughAPI(ctx, subs)
		}},
		// Three times the letters: v2's start and ramp take 15-20 s here, and the switch must
		// land while letters move.
		{name: "rolling upgrade v1 → v2 mid-run (ramp 50 %, current, v1 SIGTERM)", letters: 3 * n, callsCut: 1, fault: func(ctx context.Context, e *env) error {
			return e.rollingUpgrade(ctx, 5*time.Second, 3*n)
		}, after: func(ctx context.Context, e *env, r *result) { e.awaitDrained(ctx, r) }},
	}
}

// killTemporalProcess SIGKILLs one of the cluster's processes once the letters' notices flow,
// and starts it again after down. A history process's shards are followed in the shards table.
func (e *env) killTemporalProcess(ctx context.Context, name string, down time.Duration) error {
	waitForNotices(ctx, e, 5)
	history := strings.HasPrefix(name, "history-")
	var before map[int]int
	if history {
		before, _ = e.cluster.shardOwners(ctx)
	}
	if err := e.cluster.kill(ctx, name); err != nil {
		return err
	}
	killed := time.Now()
	if history {
		// history-1's shards go to history-2 once the membership ring has dropped history-1.
		moved := time.Duration(-1)
		most := 0
		for time.Since(killed) < down && ctx.Err() == nil {
			if o, err := e.cluster.shardOwners(ctx); err == nil {
				most = max(most, o[2])
				if o[2] == clusterShards && moved < 0 {
					moved = time.Since(killed)
				}
			}
			sleep(ctx, 500*time.Millisecond)
		}
		if moved >= 0 {
			e.note("history-1 held %d of %d shards; history-2 held all %d %s after the kill", before[1], clusterShards, clusterShards, moved.Round(100*time.Millisecond))
		} else {
			e.note("history-1 held %d of %d shards; history-2 held at most %d in the %s down", before[1], clusterShards, most, down)
		}
	} else {
		sleep(ctx, down)
	}
	if e.noRestart {
		e.note("%s not started again (-no-restart)", name)
		return nil
	}
	if err := e.cluster.restart(ctx, name); err != nil {
		return err
	}
	if history {
		// The ring gives history-1 its share back a few shards at a time.
		back, first, held, steady := time.Now(), time.Duration(0), 0, time.Now()
		for time.Since(back) < time.Minute && time.Since(steady) < 5*time.Second && ctx.Err() == nil {
			if o, err := e.cluster.shardOwners(ctx); err == nil && o[1] != held {
				if held == 0 {
					first = time.Since(back)
				}
				held, steady = o[1], time.Now()
			}
			sleep(ctx, 500*time.Millisecond)
		}
		e.note("history-1 took shards back from %s after its restart, %d by %s", first.Round(100*time.Millisecond), held,
			steady.Sub(back).Round(100*time.Millisecond))
	}
	return nil
}

// submitThroughAPI posts the run as a CSV batch to an API process of its own, SIGKILLs the
// process the moment it has answered 202 (its letters are stored; their starts had just
// begun in the background), and starts it again. The letters' ids come from PostgreSQL.
func (e *env) submitThroughAPI(ctx context.Context, subs []postoffice.Submission) ([]uuid.UUID, error) {
	if e.api == nil {
		e.api = &proc{name: "api", log: filepath.Join(e.dir, "api.log"), env: append(slices.Clone(e.workerEnv), "SERVE=api",
			"TEMPORAL_ADDRESS="+e.cluster.frontend(2), fmt.Sprintf("DATABASE_MAX_CONNS=%d", apiConnsOnCluster),
			"WORKER_DEPLOYMENT_NAME="+deploymentName)}
	}
	if err := e.startAPI(ctx); err != nil {
		return nil, err
	}
	if e.apiKey == "" {
		_, key, err := e.engine.APIKeys.Create(ctx, "region-midt")
		if err != nil {
			return nil, err
		}
		e.apiKey = key
	}
	var csv bytes.Buffer
	csv.WriteString(bulkfile.Header + "\n")
	for _, s := range subs {
		fmt.Fprintf(&csv, "%s,%s,%s,%s\n", s.MessageID, s.RecipientCPR, s.Subject, s.Body)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+e.apiAddr()+"/v1/batches", &csv)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+e.apiKey)
	req.Header.Set("Content-Type", "text/csv")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return nil, fmt.Errorf("POST /v1/batches: %s: %s", resp.Status, body)
	}
	e.api.kill()
	messageIDs := make([]string, len(subs))
	for i, s := range subs {
		messageIDs[i] = s.MessageID
	}
	var stored, unstarted int
	if err := e.db.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE started_at IS NULL) FROM letters
		WHERE sender_id = 'region-midt' AND message_id = ANY($1)`, messageIDs).Scan(&stored, &unstarted); err != nil {
		return nil, err
	}
	e.note("202 for %d letters; SIGKILL with %d of the %d stored not yet confirmed started", len(subs), unstarted, stored)
	if e.noRestart {
		e.note("API not started again (-no-restart)")
	} else if err := e.startAPI(ctx); err != nil {
		return nil, err
	}
	rows, err := e.db.Query(ctx, `SELECT message_id, id FROM letters WHERE sender_id = 'region-midt' AND message_id = ANY($1)`, messageIDs)
	if err != nil {
		return nil, err
	}
	byMessage := map[string]uuid.UUID{}
	for rows.Next() {
		var m string
		var id uuid.UUID
		if err := rows.Scan(&m, &id); err != nil {
			rows.Close()
			return nil, err
		}
		byMessage[m] = id
	}
	rows.Close()
	ids := make([]uuid.UUID, 0, len(subs))
	for _, m := range messageIDs {
		id, ok := byMessage[m]
		if !ok {
			return nil, fmt.Errorf("letter %s answered 202 but not stored", m)
		}
		ids = append(ids, id) // in the run's order, as the count expects
	}
	return ids, nil
}

func (e *env) apiAddr() string {
	for _, v := range e.api.env {
		if a, ok := strings.CutPrefix(v, "HTTP_ADDR="); ok {
			return a
		}
	}
	return ""
}

// setAPIPort picks the API process's port (HTTP_ADDR) anew.
func (e *env) setAPIPort() error {
	port, err := freePort()
	if err != nil {
		return err
	}
	for i, v := range e.api.env {
		if strings.HasPrefix(v, "HTTP_ADDR=") {
			e.api.env[i] = fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", port)
		}
	}
	return nil
}

// startAPI starts the API process and waits until it answers /readyz. Its port is picked by
// opening and closing a listener (the suite must know where to post); when another process took
// it in between, or took it while the API process was down, the process exits saying so, and
// it is started again on a new port.
func (e *env) startAPI(ctx context.Context) error {
	starts, from := 0, int64(0)
	if !e.api.running() {
		if _, port, _ := net.SplitHostPort(e.apiAddr()); port == "" || port == "0" { // the first start
			if err := e.setAPIPort(); err != nil {
				return err
			}
		}
		from, starts = logSize(e.api.log), 1
		if err := e.api.start(e.workerBin); err != nil {
			return err
		}
	}
	start := time.Now()
	for time.Since(start) < time.Minute && ctx.Err() == nil {
		if starts > 0 && starts < portStarts && !e.api.running() && bindFailedSince(e.api.log, from) {
			e.log("  the API process's port %s was taken; starting it on a new one", e.apiAddr())
			if err := e.setAPIPort(); err != nil {
				return err
			}
			from, starts = logSize(e.api.log), starts+1
			if err := e.api.start(e.workerBin); err != nil {
				return err
			}
		}
		resp, err := http.Get("http://" + e.apiAddr() + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if !e.api.running() {
			return fmt.Errorf("the API process exited; see %s", e.api.log)
		}
		sleep(ctx, 200*time.Millisecond)
	}
	return fmt.Errorf("the API process did not answer /readyz within a minute; see %s", e.api.log)
}

// rollingUpgrade rolls out build v2 while the run's letters move, as an operator would: two
// v2 workers start beside the v1 ones, v2 is ramped to 50 % for ramp, then made current, and
// the v1 workers are stopped with SIGTERM (a pod's termination).
func (e *env) rollingUpgrade(ctx context.Context, ramp time.Duration, letters int) error {
	v1 := e.workers
	v2 := []*proc{e.workerIn("worker-v2-1", 1, upgradeBuild, upgradeConnsOnCluster), e.workerIn("worker-v2-2", 2, upgradeBuild, upgradeConnsOnCluster)}
	started := time.Now()
	for _, w := range v2 {
		if err := w.start(e.workerBin); err != nil {
			return err
		}
	}
	e.workers = append(slices.Clone(v1), v2...) // a kill from here on would take them all
	h := e.tc.WorkerDeploymentClient().GetHandle(deploymentName)
	// Traffic moves once the letters' notices flow. The version exists, and can be ramped,
	// once its workers poll every one of its queues: 15-20 s on this machine.
	waitForNotices(ctx, e, 5)
	if err := retry(ctx, 2*time.Minute, func() error {
		desc, err := h.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
		if err != nil {
			return err
		}
		_, err = h.SetRampingVersion(ctx, client.WorkerDeploymentSetRampingVersionOptions{BuildID: upgradeBuild, Percentage: 50,
			ConflictToken: desc.ConflictToken})
		if err != nil {
			e.log("  ramp %s: %v", upgradeBuild, err)
		}
		return err
	}); err != nil {
		return fmt.Errorf("ramp %s: %w", upgradeBuild, err)
	}
	// How far the run had got at each step: notices sent of the 2 per letter.
	progress := func() string {
		return fmt.Sprintf("%d of %d notices sent", len(e.twilio.Messages())+len(e.sendgrid.Mails())-e.rowNotices, 2*letters)
	}
	e.note("v2 ramped to 50 %% %s after its workers started, %s", time.Since(started).Round(100*time.Millisecond), progress())
	sleep(ctx, ramp)
	if err := retry(ctx, time.Minute, func() error {
		desc, err := h.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
		if err != nil {
			return err
		}
		_, err = h.SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{BuildID: upgradeBuild, ConflictToken: desc.ConflictToken})
		return err
	}); err != nil {
		return fmt.Errorf("set %s current: %w", upgradeBuild, err)
	}
	e.upgradedAt = time.Now()
	e.note("v2 current after %s of ramp, %s", ramp, progress())
	// A recovery sweep v1 began (pinned to its version) ends within a second; then v1 stops
	// as pods do, SIGTERM and 150 s (the Helm chart's terminationGracePeriodSeconds).
	sleep(ctx, 5*time.Second)
	sigterm := progress()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var slowest time.Duration
	var killed []string
	for _, w := range v1 {
		wg.Go(func() {
			took, k := w.term(150 * time.Second)
			mu.Lock()
			defer mu.Unlock()
			slowest = max(slowest, took)
			if k {
				killed = append(killed, w.name)
			}
		})
	}
	wg.Wait()
	e.workers = v2
	if len(killed) > 0 {
		return fmt.Errorf("v1 workers %v did not stop within 150 s of SIGTERM", killed)
	}
	e.note("v1's workers SIGTERMed at %s, gone within %s", sigterm, slowest.Round(100*time.Millisecond))
	return nil
}

// awaitDrained waits, within the settle time, for v1 to report drained: no open workflow
// pinned to it, so it could be retired. It also tells on which build the letters' last task ran.
func (e *env) awaitDrained(ctx context.Context, r *result) {
	if e.upgradedAt.IsZero() {
		return // the upgrade did not happen; the fault's error says why
	}
	h := e.tc.WorkerDeploymentClient().GetHandle(deploymentName)
	var status client.WorkerDeploymentVersionDrainageStatus
	for deadline := e.upgradedAt.Add(e.settleTime); ctx.Err() == nil; sleep(ctx, time.Second) {
		if desc, err := h.Describe(ctx, client.WorkerDeploymentDescribeOptions{}); err == nil {
			for _, v := range desc.Info.VersionSummaries {
				if v.Version.BuildID == clusterBuild {
					status = v.DrainageStatus
				}
			}
		}
		if status == client.WorkerDeploymentVersionDrainageStatusDrained || time.Now().After(deadline) {
			break
		}
	}
	if status != client.WorkerDeploymentVersionDrainageStatusDrained {
		r.Note = fmt.Sprintf("v1 not drained %s after v2 became current (drainage status %d)", e.settleTime, status)
		return
	}
	e.note("v1 drained %s after v2 became current", time.Since(e.upgradedAt).Round(time.Second))
	builds := map[string]int{}
	for _, id := range e.lastIDs {
		d, err := e.tc.DescribeWorkflowExecution(ctx, letters.WorkflowID(id), "")
		if err != nil {
			builds["?"]++
			continue
		}
		builds[d.GetWorkflowExecutionInfo().GetVersioningInfo().GetDeploymentVersion().GetBuildId()]++
	}
	e.note("letters whose last task ran on v1: %d, on v2: %d", builds[clusterBuild], builds[upgradeBuild])
}

// stalls finds the row's notices that came over a minute after 95 % of them, and counts the
// letters among theirs whose provider call was retried after its 2-minute StartToCloseTimeout
// ran out: a call the server recorded as started that no worker finished. On the cluster
// under load these are what makes a row last minutes longer than its letters need.
func (e *env) stalls(ctx context.Context, ids []uuid.UUID) (late, timedOut int, err error) {
	rows, err := e.db.Query(ctx, `WITH sent AS (SELECT letter_id, updated_at FROM notifications WHERE letter_id = ANY($1) AND state = 'sent'),
			p AS (SELECT percentile_disc(0.95) WITHIN GROUP (ORDER BY updated_at) AS p95 FROM sent)
		SELECT letter_id FROM sent, p WHERE updated_at > p95 + interval '60 seconds'`, ids)
	if err != nil {
		return 0, 0, err
	}
	lateLetters, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return 0, 0, err
	}
	seen := map[uuid.UUID]bool{}
	for _, id := range lateLetters {
		if seen[id] {
			continue
		}
		seen[id] = true
		it := e.tc.GetWorkflowHistory(ctx, letters.WorkflowID(id), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				break
			}
			if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && strings.Contains(a.GetLastFailure().GetMessage(), "StartToClose") {
				timedOut++
				break
			}
		}
	}
	return len(lateLetters), timedOut, nil
}

// retry calls f until it succeeds or within is over.
func retry(ctx context.Context, within time.Duration, f func() error) error {
	deadline := time.Now().Add(within)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		sleep(ctx, 500*time.Millisecond)
	}
}

func quietSDKLogger() sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
}
