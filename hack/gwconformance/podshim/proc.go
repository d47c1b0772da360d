package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one container: a process in the pod's network namespace whose
// output is kept, a line at a time with its time, in logPath. A container
// of an image podshim cannot run has no process.
type proc struct {
	container string
	logPath   string
	cmd       *exec.Cmd
	done      chan struct{}

	mu   sync.Mutex
	last []string // the last lines, for diagnostics
}

func (p *proc) start(netns, bin string, env []string, dir string) error {
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		f.Close()
		return err
	}
	p.cmd = exec.Command("ip", "netns", "exec", netns, bin)
	p.cmd.Env = env
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = w, w
	// The processes die with podshim, whatever ends it.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		f.Close()
		r.Close()
		w.Close()
		return err
	}
	w.Close()
	p.done = make(chan struct{})
	go p.copyLog(r, f)
	return nil
}

// noProcess stands for a container podshim cannot run: its log says so.
func (p *proc) noProcess(image string) {
	_ = os.WriteFile(p.logPath, fmt.Appendf(nil, "%s podshim: image %s is not run; the container is reported running without a process\n",
		time.Now().UTC().Format(time.RFC3339Nano), image), 0o600)
}

func (p *proc) copyLog(r io.ReadCloser, f *os.File) {
	defer close(p.done)
	defer f.Close()
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintf(f, "%s %s\n", time.Now().UTC().Format(time.RFC3339Nano), line)
		p.mu.Lock()
		p.last = append(p.last, line)
		if len(p.last) > 10 {
			p.last = p.last[1:]
		}
		p.mu.Unlock()
	}
	err := p.cmd.Wait()
	fmt.Fprintf(f, "%s podshim: process exited: %v\n", time.Now().UTC().Format(time.RFC3339Nano), err)
}

func (p *proc) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
	}
}

func (p *proc) tail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.last, " | ")
}

// listening tells whether the process has a listening TCP socket, read
// from its own view of /proc/net (its network namespace's).
func (p *proc) listening() bool {
	if p.cmd == nil {
		return true // no process: ready as soon as it has an address
	}
	for _, f := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", p.cmd.Process.Pid, f))
		if err != nil {
			continue
		}
		for _, line := range bytes.Split(b, []byte("\n"))[1:] {
			// sl local_address rem_address st ...; st 0A is LISTEN.
			if fs := bytes.Fields(line); len(fs) > 3 && string(fs[3]) == "0A" {
				return true
			}
		}
	}
	return false
}
