package main

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/bpf/testenv"
)

var static struct {
	once sync.Once
	bin  string
	err  error
}

// staticBinary builds wirecheck as `make static` does (CGO_ENABLED=0, no
// libpcap) into a directory anyone may read, once per test run: the real
// main, with its signal handling, in a process of its own.
func staticBinary(t *testing.T) string {
	t.Helper()
	testenv.RequireTools(t, "go")
	static.once.Do(func() {
		dir, err := os.MkdirTemp("", "wirecheck-static")
		if err != nil {
			static.err = err
			return
		}
		os.Chmod(dir, 0o755)
		static.bin = filepath.Join(dir, "wirecheck")
		cmd := exec.Command("go", "build", "-o", static.bin, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			static.err = errors.New(string(out))
		}
	})
	if static.err != nil {
		t.Fatalf("go build: %v", static.err)
	}
	return static.bin
}

// TestBareCommandAndVersion: bare wirecheck is a usage error (usage on
// standard error, exit 2, nothing on standard output); --version names the
// build.
func TestBareCommandAndVersion(t *testing.T) {
	out, stderr, code := wirecheck(t, nil)
	if code != exitError || out != "" || !strings.Contains(stderr, "Usage:\n  wirecheck [flags]\n  wirecheck [command]") || !strings.Contains(stderr, "analyse") {
		t.Errorf("bare wirecheck: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	out, stderr, code = wirecheck(t, nil, "--version")
	if code != exitConformant || stderr != "" || !regexp.MustCompile(`^wirecheck \S.*, go1\.\d+`).MatchString(out) || strings.Count(out, "\n") != 1 {
		t.Errorf("--version: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if _, stderr, code := wirecheck(t, nil, "anlyse"); code != exitError || !strings.HasPrefix(stderr, `wirecheck: unknown command "anlyse" for "wirecheck"`) {
		t.Errorf("a misspelt command: exit %d, stderr %q", code, stderr)
	}
}

// TestMissingArguments: a command without the arguments it needs says
// which are missing and how to give them, with its usage line, exit 2.
func TestMissingArguments(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"analyse", "-p", "storage-gateway/file-nfs"}, "wirecheck: no capture file given: name one or more, or - for standard input\nUsage: wirecheck analyse [flags] CAPTURE...\n"},
		{[]string{"suggest"}, "wirecheck: no capture file given: name one or more, or - for standard input\nUsage: wirecheck suggest [flags] CAPTURE...\n"},
		{[]string{"diff", "old.json"}, "wirecheck: 1 report given, 2 needed: name two JSON reports of analyse --format json, the older first\nUsage: wirecheck diff [flags] OLD.json NEW.json\n"},
		{[]string{"diff", "a", "b", "c"}, "wirecheck: 3 reports given, at most 2: "},
		{[]string{"profiles", "show"}, "wirecheck: no profile given: name a built-in profile (list them with: wirecheck profiles) or a YAML file\n"},
		{[]string{"profiles", "check"}, "wirecheck: no profile file given: name one or more YAML files\n"},
		// Flags that do not parse, and cobra's own usage errors, get the
		// usage line of the command they were given to.
		{[]string{"analyse", "--max-flow", "5", "a.pcap"}, "wirecheck: unknown flag: --max-flow\nUsage: wirecheck analyse [flags] CAPTURE...\nRun 'wirecheck analyse --help' for more.\n"},
		{[]string{"suggest", "--collapse", "x", "a.pcap"}, "wirecheck: invalid argument \"x\" for \"--collapse\" flag: "},
		{[]string{"diff", "--format"}, "wirecheck: flag needs an argument: --format\nUsage: wirecheck diff [flags] OLD.json NEW.json\n"},
		{[]string{"watch", "-p", "storage-gateway/file-nfs"}, "wirecheck: required flag(s) \"interface\" not set\nUsage: wirecheck watch -i IFACE -p PROFILE [flags]\n"},
		{[]string{"profiles", "lsit"}, "wirecheck: unknown command \"lsit\" for \"wirecheck profiles\"\nUsage: wirecheck profiles COMMAND [flags]\n"},
	} {
		out, stderr, code := wirecheck(t, nil, c.args...)
		if code != exitError || out != "" || !strings.HasPrefix(stderr, c.want) || strings.Contains(stderr, "arg(s)") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 and %q", c.args, code, out, stderr, c.want)
		}
	}
}

// TestBrokenPipeQuiet: `wirecheck analyse big.pcap | head` ends as tcpdump
// and the Go tools do when the reader goes: exit 0, nothing on standard
// error (it was killed by SIGPIPE, status 141, with an error).
func TestBrokenPipeQuiet(t *testing.T) {
	bin := staticBinary(t)
	capture := manyFlows(t, 256) // about 300 KB of JSON report, beyond any pipe's buffer
	cmd := exec.Command(bin, "analyse", "-q", "-p", filepath.Join(filepath.Dir(capture), "any.yaml"), "--format", "json", capture)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(pipe).ReadString('\n')
	if err != nil || line != "{\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	pipe.Close() // as head does after its lines
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("wirecheck did not end after its reader went")
	}
	if err != nil || stderr.Len() > 0 {
		t.Errorf("after the reader closed the pipe: %v, stderr %q; want exit 0 and nothing said", err, stderr.String())
	}
	// The same without the reader going writes the whole report.
	out, err := exec.Command(bin, "analyse", "-q", "-p", filepath.Join(filepath.Dir(capture), "any.yaml"), "--format", "json", capture).Output()
	if err != nil || len(out) < 128<<10 {
		t.Errorf("whole report: %d bytes, %v (want more than a pipe holds)", len(out), err)
	}
}

// TestStaticBuildPrivilegeAdvice: a static build (no libpcap) run without
// privileges is told what works for it, the eBPF capabilities, and never
// to grant CAP_NET_RAW for a libpcap it does not have.
func TestStaticBuildPrivilegeAdvice(t *testing.T) {
	testenv.RequirePrivileged(t)
	bin := staticBinary(t)
	for _, c := range []struct {
		engine string
		want   string
	}{
		{"", "wirecheck: the eBPF engine needs CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON, which this process lacks, and this build has no libpcap to fall back to (built without cgo): run as root, or grant them: sudo setcap cap_bpf,cap_net_admin,cap_perfmon+ep " + bin + " (or use dist/systemd/wirecheck.service)\n"},
		{"pcap", "wirecheck: live capture needs libpcap: this wirecheck was built without cgo (build with CGO_ENABLED=1 and libpcap-dev, or use --engine ebpf)\n"},
	} {
		cmd := exec.Command(bin, "watch", "-i", "lo", "-p", "storage-gateway/file-nfs", "--duration", "2s", "--engine", c.engine)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitError || stderr.String() != c.want {
			t.Errorf("--engine %q as nobody: %v, stderr %q; want exit 2 and %q", c.engine, err, stderr.String(), c.want)
		}
	}
}
