// Package rollout puts every worker in a Temporal Worker Deployment, so that a new build can
// be rolled out while letters wait for days: each build is a deployment version, Temporal
// sends a workflow's tasks to the version its versioning behaviour says, and operators move
// traffic from one version to the next (ramp, set current) and watch the old one drain before
// they retire it. docs/operations.md has the procedure.
package rollout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Deployment is this process's place in the Worker Deployment: the deployment's name and
// this build's id. An empty name runs the workers unversioned.
type Deployment struct {
	Name    string
	BuildID string
}

// Versioned reports whether the workers take part in Worker Versioning.
func (d Deployment) Versioned() bool { return d.Name != "" }

// Version is the deployment version this build is.
func (d Deployment) Version() worker.WorkerDeploymentVersion {
	return worker.WorkerDeploymentVersion{DeploymentName: d.Name, BuildID: d.BuildID}
}

// String names the version as Temporal's CLI and UI do: deployment.build.
func (d Deployment) String() string { return d.Name + "." + d.BuildID }

// WorkerOptions are the deployment options every worker of this process gets. All of a
// process's workers are one version: a letter's workflow and the notices it sends to the
// providers' queues then run on the same build.
func (d Deployment) WorkerOptions() worker.DeploymentOptions {
	if !d.Versioned() {
		return worker.DeploymentOptions{}
	}
	// Workflows registered without a behaviour of their own (the bench's) wait like letters.
	return worker.DeploymentOptions{UseVersioning: true, Version: d.Version(), DefaultVersioningBehavior: Waits}
}

// Waits is the behaviour of a workflow that waits days or longer (a letter for its opening, a
// case for its decision, a reading access request for its answer, a webhook delivery that
// continues as new for as long as the sender has a webhook): it moves to the current version
// at its next task. Pinned, a week-long letter would keep its old build running for a week
// after every rollout, a fix would never reach the letters already waiting, and a scheduled
// letter would keep its build for months. Changes to such workflows are guarded by
// workflow.GetVersion and proven by the replay tests of recorded histories.
const Waits = workflow.VersioningBehaviorAutoUpgrade

// EndsSoon is the behaviour of a workflow that ends within minutes (the recovery sweep): it
// stays on the version it started on, so a change to it needs no patch, and its old version
// drains by itself within the hour.
const EndsSoon = workflow.VersioningBehaviorPinned

// Stamped is the build id set at link time (go build -ldflags "-X
// digitalpost/internal/infra/rollout.Stamped=ID"): the Dockerfile stamps the image's revision, since
// a container build sees no .git to take it from.
var Stamped string

// BuildID is the build this binary was made from: Stamped, else the VCS revision Go stamps
// into a binary built from a checkout with `go build` (not `go run`), marked -dirty when the
// tree had changes, else the module version; "dev" when the binary carries none of them.
func BuildID() string {
	if Stamped != "" {
		return Stamped
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	var revision, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	switch {
	case revision != "":
		if len(revision) > 12 {
			revision = revision[:12]
		}
		if modified == "true" {
			revision += "-dirty"
		}
		return revision
	case info.Main.Version != "" && info.Main.Version != "(devel)":
		return info.Main.Version
	}
	return "dev"
}

// AdoptIfFirst makes this build the deployment's current version when the deployment has
// none: its very first start, when there is nothing to roll out from. Later builds start as
// versions that take no new workflows until an operator ramps or sets them current. The
// version exists on the server only once this process's workers poll, and processes of the
// first build starting together race to set it, so it retries until a current version exists
// or ctx ends.
func (d Deployment) AdoptIfFirst(ctx context.Context, c client.Client, log *slog.Logger) error {
	return d.adopt(ctx, c, log, false)
}

// Adopt makes this build the current version whatever was current before: the dev runtime's
// start, where there is no rollout and a rebuilt binary must take the letters at once.
func (d Deployment) Adopt(ctx context.Context, c client.Client, log *slog.Logger) error {
	return d.adopt(ctx, c, log, true)
}

func (d Deployment) adopt(ctx context.Context, c client.Client, log *slog.Logger, always bool) error {
	if !d.Versioned() {
		return nil
	}
	h := c.WorkerDeploymentClient().GetHandle(d.Name)
	for attempt := 1; ; attempt++ {
		done, err := d.adoptOnce(ctx, h, always)
		if done {
			return nil
		}
		if attempt%50 == 0 { // every ten seconds
			log.Warn("worker deployment: waiting to set the current version", "version", d.String(), "err", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("worker deployment %s: no current version: %w (last: %v)", d, ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// adoptOnce reports whether the deployment has the current version it should; an error
// (this version not registered yet, another process of the same build setting it first, the
// server busy) is tried again.
func (d Deployment) adoptOnce(ctx context.Context, h client.WorkerDeploymentHandle, always bool) (bool, error) {
	desc, err := h.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return false, errNotYetRegistered
	}
	if err != nil {
		return false, err
	}
	cur := desc.Info.RoutingConfig.CurrentVersion
	if cur != nil && (!always || *cur == d.Version()) {
		return true, nil // someone chose already; a rollout is the operator's
	}
	found := false
	for _, v := range desc.Info.VersionSummaries {
		found = found || v.Version.BuildID == d.BuildID
	}
	if !found {
		return false, errNotYetRegistered
	}
	_, err = h.SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{
		BuildID:       d.BuildID,
		ConflictToken: desc.ConflictToken,
	})
	return err == nil, err
}

// Routing tells where new workflows go. A process that is both worker and API starts urgent
// letters eagerly, on its own workers, past Temporal's routing (the server does not weigh
// versions for an eager start), so it may do so only while the routing would send them to this
// build anyway (SoleCurrent). And a build that adds a task queue may start work on it only once
// the workers that take new workflows poll it (Polled): during a rollout the new build's API
// would otherwise strand letters on a queue that no current worker serves. Answers are cached
// for a few seconds.
type Routing struct {
	deployment Deployment
	client     client.Client
	handle     client.WorkerDeploymentHandle
	fresh      time.Duration

	mu      sync.Mutex
	answers map[string]answer
}

type answer struct {
	yes        bool
	checked    time.Time
	fresh      time.Duration
	refreshing bool
}

func (a answer) current() bool { return time.Since(a.checked) < a.fresh }

// NewRouting watches d's routing through c.
func NewRouting(d Deployment, c client.Client) *Routing {
	r := &Routing{deployment: d, client: c, fresh: routingFresh, answers: map[string]answer{}}
	if d.Versioned() {
		r.handle = c.WorkerDeploymentClient().GetHandle(d.Name)
	}
	return r
}

// routingFresh is how long an answer is kept; a failed look counts as no for a second, so that
// a Temporal that does not answer is not asked again by every request.
const (
	routingFresh = 5 * time.Second
	failedFresh  = time.Second
)

// SoleCurrent reports whether every new workflow goes to this build: unversioned, or the
// current version with none ramping.
func (r *Routing) SoleCurrent(ctx context.Context) bool {
	if !r.deployment.Versioned() {
		return true
	}
	return r.cached(ctx, "sole", func(ctx context.Context) (bool, error) {
		rc, err := r.routingConfig(ctx)
		return err == nil && rc.CurrentVersion != nil && *rc.CurrentVersion == r.deployment.Version() && rc.RampingVersion == nil, err
	})
}

// Polled reports whether the workers that take new workflows poll queue for workflow tasks: in
// a deployment, the current version and the ramping one, if any, list it among their task
// queues; unversioned, the queue has a workflow poller (the server lists a poller for a few
// minutes after it stopped, so a rollback is seen that much later).
func (r *Routing) Polled(ctx context.Context, queue string) bool {
	return r.cached(ctx, "polled "+queue, func(ctx context.Context) (bool, error) { return r.lookPolled(ctx, queue) })
}

// cached answers from the last look while it is fresh. Past that, the first caller looks
// again in the background and every caller gets the last answer meanwhile: a request never
// waits for Temporal, except for the very first look.
func (r *Routing) cached(ctx context.Context, key string, look func(context.Context) (bool, error)) bool {
	r.mu.Lock()
	a, known := r.answers[key]
	switch {
	case known && (a.current() || a.refreshing):
		r.mu.Unlock()
		return a.yes
	case known:
		a.refreshing = true
		r.answers[key] = a
		r.mu.Unlock()
		go func() { r.store(key, r.look(context.Background(), look)) }() // a go statement's arguments are evaluated here
		return a.yes
	}
	r.mu.Unlock()
	a = r.look(ctx, look)
	r.store(key, a)
	return a.yes
}

func (r *Routing) store(key string, a answer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answers[key] = a
}

func (r *Routing) look(ctx context.Context, f func(context.Context) (bool, error)) answer {
	// A request that ends (its client gone) must not leave a failed look behind for others.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	yes, err := f(ctx)
	if err != nil {
		return answer{checked: time.Now(), fresh: failedFresh}
	}
	return answer{yes: yes, checked: time.Now(), fresh: r.fresh}
}

func (r *Routing) routingConfig(ctx context.Context) (client.WorkerDeploymentRoutingConfig, error) {
	desc, err := r.handle.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
	return desc.Info.RoutingConfig, err
}

func (r *Routing) lookPolled(ctx context.Context, queue string) (bool, error) {
	if !r.deployment.Versioned() {
		tq, err := r.client.DescribeTaskQueue(ctx, queue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		return err == nil && len(tq.GetPollers()) > 0, err
	}
	rc, err := r.routingConfig(ctx)
	if err != nil || rc.CurrentVersion == nil {
		return false, err // no current version: new workflows go to unversioned workers
	}
	for _, v := range []*worker.WorkerDeploymentVersion{rc.CurrentVersion, rc.RampingVersion} {
		if v == nil {
			continue
		}
		desc, err := r.handle.DescribeVersion(ctx, client.WorkerDeploymentDescribeVersionOptions{BuildID: v.BuildID})
		if err != nil {
			return false, err
		}
		if !slices.ContainsFunc(desc.Info.TaskQueuesInfos, func(tq client.WorkerDeploymentTaskQueueInfo) bool {
			return tq.Name == queue && tq.Type == client.TaskQueueTypeWorkflow
		}) {
			return false, nil
		}
	}
	return true, nil
}

var errNotYetRegistered = errors.New("version not yet registered by a poller")

// For is the deployment named name with this build: buildID, or the binary's own (BuildID).
func For(name, buildID string) Deployment {
	if buildID == "" {
		buildID = BuildID()
	}
	return Deployment{Name: name, BuildID: buildID}
}
