//go:build linux

package netnslab

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Command is how to start a Proc: this test binary (or Bin) re-executed to
// run only the test Helper, which reads what to do from Env.
type Command struct {
	// Bin is the test binary; "" is this one (os.Args[0]).
	Bin string
	// Helper names the test the child runs (-test.run=^Helper$).
	Helper string
	// Env is added to this process's environment.
	Env []string
	// NS is the namespace to run in; "" is the current one.
	NS string
	// Cred is the user to run as; nil is this process's.
	Cred *syscall.Credential
}

// Proc is a running child process.
type Proc struct {
	t      testing.TB
	Cmd    *exec.Cmd
	Stdout bytes.Buffer // read it only after the process ended
	lines  chan string  // standard error, line by line; closed at EOF
	done   chan struct{}

	mu     sync.Mutex
	stderr []string
}

// Launch starts c. The process is killed when the test ends.
func Launch(t testing.TB, c Command) *Proc {
	t.Helper()
	bin := c.Bin
	if bin == "" {
		bin = os.Args[0]
	}
	argv := []string{bin, "-test.run=^" + c.Helper + "$"}
	if c.NS != "" {
		argv = append([]string{"ip", "netns", "exec", c.NS}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), c.Env...)
	if c.Cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.Cred}
	}
	p := &Proc{t: t, Cmd: cmd, lines: make(chan string, 1024), done: make(chan struct{})}
	cmd.Stdout = &p.Stdout
	// Through an io.Pipe, not StderrPipe: Wait then returns only after
	// every byte was copied, so no last line is lost.
	errPipe, errW := io.Pipe()
	cmd.Stderr = errW
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", c.Helper, err)
	}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			p.mu.Lock()
			p.stderr = append(p.stderr, sc.Text())
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default: // nobody is waiting for lines; StderrText still has them
			}
		}
		io.Copy(io.Discard, errPipe)
	}()
	go func() {
		cmd.Wait()
		errW.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	return p
}

// Start launches c and waits up to 30s for a line of standard error that
// begins with ready, failing the test if the process ends or says nothing
// of the kind.
func Start(t testing.TB, c Command, ready string) *Proc {
	t.Helper()
	p := Launch(t, c)
	deadline := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				code := p.Wait(5 * time.Second)
				t.Fatalf("%s exited (%d) before %q; stderr:\n%s", c.Helper, code, ready, p.StderrText())
			}
			if strings.HasPrefix(line, ready) {
				return p
			}
		case <-deadline:
			t.Fatalf("%s did not say %q in 30s; stderr:\n%s", c.Helper, ready, p.StderrText())
		}
	}
}

// Signal sends sig and waits (up to 20s) for the exit status.
func (p *Proc) Signal(sig syscall.Signal) int {
	p.t.Helper()
	if err := p.Cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
	return p.Wait(20 * time.Second)
}

// Wait returns the exit status, failing the test if the process does not
// exit within d.
func (p *Proc) Wait(d time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		p.Cmd.Process.Kill()
		<-p.done
		p.t.Fatalf("process did not exit within %v; stderr:\n%s", d, p.StderrText())
	}
	for range p.lines { // let the reader finish
	}
	return p.Cmd.ProcessState.ExitCode()
}

// WaitLine waits up to d for a line of standard error that contains every
// one of parts, and returns it.
func (p *Proc) WaitLine(d time.Duration, parts ...string) (string, bool) {
	deadline := time.After(d)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				return "", false
			}
			if containsAll(line, parts...) {
				return line, true
			}
		case <-deadline:
			return "", false
		}
	}
}

func containsAll(s string, parts ...string) bool {
	for _, part := range parts {
		if !strings.Contains(s, part) {
			return false
		}
	}
	return true
}

// StderrText returns standard error so far.
func (p *Proc) StderrText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.stderr, "\n")
}

// StderrLines returns standard error so far, line by line.
func (p *Proc) StderrLines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.stderr...)
}

// DecodeStdout decodes the JSON the process wrote on standard output into
// v, failing the test if it is not JSON. Call it after the process ended.
func (p *Proc) DecodeStdout(v any) {
	p.t.Helper()
	if err := json.Unmarshal(p.Stdout.Bytes(), v); err != nil {
		p.t.Fatalf("standard output is not JSON (%v):\n%s\nstderr:\n%s", err, p.Stdout.String(), p.StderrText())
	}
}
