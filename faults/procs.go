package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// proc is one of our processes (a worker, the API) that the suite starts, kills and starts
// again with the same environment and log file.
type proc struct {
	name    string
	env     []string
	log     string
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	stopped bool          // the suite stopped it (kill, term): its exit was no crash
}

func (p *proc) start(bin string) error {
	logFile, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin)
	cmd.Env, cmd.Stdout, cmd.Stderr = p.env, logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the suite
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.stopped = cmd, done, false
	go func() { _ = cmd.Wait(); logFile.Close(); close(done) }()
	return nil
}

func (p *proc) running() bool {
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// kill SIGKILLs the process, as a machine that dies, and waits until it is gone.
func (p *proc) kill() {
	if !p.running() {
		return
	}
	p.stopped = true
	_ = p.cmd.Process.Kill()
	<-p.done
	time.Sleep(200 * time.Millisecond)
}

// term stops the process as Kubernetes stops a pod: SIGTERM, and SIGKILL when it has not
// exited within grace. It returns how long the process took, and whether it had to be killed.
func (p *proc) term(grace time.Duration) (took time.Duration, killed bool) {
	if !p.running() {
		return 0, false
	}
	start := time.Now()
	p.stopped = true
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return time.Since(start), false
	case <-time.After(grace):
		p.kill()
		return time.Since(start), true
	}
}

// crashed reports whether the process exited although the suite did not stop it.
func (p *proc) crashed() bool { return p != nil && p.done != nil && !p.running() && !p.stopped }
