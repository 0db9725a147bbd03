package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"digitalpost/internal/infra/engine"
	"digitalpost/workflows"
)

func rolloutCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "rollout",
		Short:   "Worker Deployment versions, their drainage, and the letters still on an old lifecycle",
		GroupID: "operator",
		Args:    cobra.NoArgs,
		Long: `Shows the workers' Temporal Worker Deployment (WORKER_DEPLOYMENT_NAME): which build is
current, which ramps, and for every version whether workflows still need it (draining) or not
(drained: its workers may stop). Then counts the letters still waiting on a lifecycle older
than the current one (workflows/letter_legacy.go): at 0 that file and the notify queue's
worker can go. Rolling out a build is in docs/operations.md.`,
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return withEngine(func(ctx context.Context, e *engine.Engine) error {
			d := e.Deployment()
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			if d.Versioned() {
				desc, err := e.Temporal.WorkerDeploymentClient().GetHandle(d.Name).Describe(ctx, client.WorkerDeploymentDescribeOptions{})
				if err != nil {
					return fmt.Errorf("worker deployment %s: %w", d.Name, err)
				}
				routing := desc.Info.RoutingConfig
				fmt.Fprintf(w, "deployment %s (this binary: build %s)\n", d.Name, d.BuildID)
				fmt.Fprintln(w, "BUILD\tROUTING\tDRAINAGE\tSINCE")
				for _, v := range desc.Info.VersionSummaries {
					role := ""
					switch {
					case routing.CurrentVersion != nil && *routing.CurrentVersion == v.Version:
						role = "current"
					case routing.RampingVersion != nil && *routing.RampingVersion == v.Version:
						role = fmt.Sprintf("ramping %.0f %%", routing.RampingVersionPercentage)
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", v.Version.BuildID, role, drainage(v.DrainageStatus), v.CreateTime.Format("2006-01-02 15:04"))
				}
			} else {
				fmt.Fprintln(w, "workers run unversioned (WORKER_DEPLOYMENT_NAME is empty)")
			}
			running, legacy, err := legacyLetters(ctx, e.Temporal)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "\nletters running: %d, on an older lifecycle than %s-%d: %d\n", running, workflows.LegacyLifecycleChange, workflows.RunLifecycleVersions()[0], legacy)
			return w.Flush()
		})(cmd, args)
	}
	return cmd
}

func drainage(s client.WorkerDeploymentVersionDrainageStatus) string {
	switch s {
	case client.WorkerDeploymentVersionDrainageStatusDraining:
		return "draining"
	case client.WorkerDeploymentVersionDrainageStatusDrained:
		return "drained"
	}
	return "active"
}

// legacyLetters counts the running letters, and those of them without the current
// lifecycle's version marker (workflows/letter_legacy.go).
func legacyLetters(ctx context.Context, c client.Client) (running, legacy int64, err error) {
	all := "WorkflowType = 'LetterWorkflow' AND ExecutionStatus = 'Running'"
	var markers []string
	for _, v := range workflows.RunLifecycleVersions() {
		markers = append(markers, fmt.Sprintf("'%s-%d'", workflows.LegacyLifecycleChange, v))
	}
	current := fmt.Sprintf("%s AND TemporalChangeVersion IN (%s)", all, strings.Join(markers, ", "))
	for _, q := range []struct {
		query string
		n     *int64
	}{{all, &running}, {current, &legacy}} {
		res, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: q.query})
		if err != nil {
			return 0, 0, fmt.Errorf("count letters (%s): %w", q.query, err)
		}
		*q.n = res.GetCount()
	}
	return running, running - legacy, nil
}
