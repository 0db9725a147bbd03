package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"digitalpost/internal/adapters/printhouse"
	"digitalpost/internal/infra/config"
)

// printhouseCmd is the development print house: it answers the spool's jobs with receipt
// files, as a real print house would, so the loop from print to posted or returned runs locally.
func printhouseCmd() *cobra.Command {
	var once bool
	var share float64
	var every time.Duration
	cmd := &cobra.Command{Use: "printhouse [--once] [--return-share 0.1]",
		Short:   "A development print house: answers spooled print jobs with receipts (posted; some returned; registered_proof delivered)",
		GroupID: "operator", Args: cobra.NoArgs}
	cmd.Flags().BoolVar(&once, "once", false, "answer the jobs waiting now, then stop")
	cmd.Flags().Float64Var(&share, "return-share", 0.1, "share of jobs that come back as undeliverable (0 to 1)")
	cmd.Flags().DurationVar(&every, "every", 2*time.Second, "how often to look for new jobs")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if share < 0 || share > 1 {
			return fmt.Errorf("--return-share: must be between 0 and 1")
		}
		cfg, err := config.Load()
		if err != nil {
			return err
		}
		house := printhouse.DevHouse{Spool: cfg.SpoolDir(), ReturnShare: share, Now: time.Now}
		fmt.Fprintf(os.Stderr, "development print house on %s: receipts go to %s\n", cfg.SpoolDir(), printhouse.ReceiptsDir(cfg.SpoolDir()))
		for {
			n, err := house.Answer()
			if err != nil {
				return err
			}
			if n > 0 {
				fmt.Printf("%s answered %d print jobs\n", time.Now().Format(time.TimeOnly), n)
			}
			if once {
				return nil
			}
			select {
			case <-cmd.Context().Done():
				return nil
			case <-time.After(every):
			}
		}
	}
	return cmd
}
