// Command printbuild prints the build id the rollout package sees, for its test.
package main

import (
	"fmt"

	"digitalpost/internal/infra/rollout"
)

func main() { fmt.Print(rollout.BuildID()) }
