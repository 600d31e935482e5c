package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/wirecheck/wirecheck/cmd/wirecheck/internal/watch"

	"github.com/wirecheck/wirecheck/bpf/testenv"
)

// The files in dist/ that operators install: the systemd unit and the
// Prometheus alerting rules. These tests hold them to the tools that read
// them and to the code they describe.

const distDir = "../../dist"

// unitValues returns the values of key in the unit file, continuation
// lines joined.
func unitValues(t *testing.T, key string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(distDir, "systemd/wirecheck.service"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	var cont strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cont.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		line = cont.String() + line
		cont.Reset()
		if k, v, ok := strings.Cut(line, "="); ok && k == key {
			out = append(out, v)
		}
	}
	return out
}

// TestSystemdUnitVerifies runs systemd-analyze verify on the unit in a
// scratch root that holds the system's units and an executable at the
// unit's ExecStart path; any warning fails the test, since verify exits 0
// on unknown keys and unparsable values.
func TestSystemdUnitVerifies(t *testing.T) {
	testenv.RequireTools(t, "systemd-analyze")
	root := t.TempDir()
	units := "/usr/lib/systemd/system"
	if _, err := os.Stat(filepath.Join(units, "sysinit.target")); err != nil {
		units = "/lib/systemd/system"
	}
	for _, c := range [][]string{
		{"mkdir", "-p", root + "/usr/lib/systemd", root + "/etc/systemd/system", root + "/usr/local/bin", root + "/bin"},
		{"cp", "-r", units, root + "/usr/lib/systemd/"},
		{"cp", filepath.Join(distDir, "systemd/wirecheck.service"), root + "/etc/systemd/system/"},
		{"cp", "/bin/kill", root + "/bin/kill"},
	} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", c, err, out)
		}
	}
	if err := os.WriteFile(root+"/usr/local/bin/wirecheck", []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", "--man=no", "--root="+root, "wirecheck.service").CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestSystemdUnitCapabilities: the unit grants exactly the capabilities
// the eBPF engine's start-up check asks for, to a user that is not root,
// and the flags it passes exist.
func TestSystemdUnitCapabilities(t *testing.T) {
	want := watch.EBPFCapabilities()
	slices.Sort(want)
	for _, key := range []string{"AmbientCapabilities", "CapabilityBoundingSet"} {
		vals := unitValues(t, key)
		if len(vals) != 1 {
			t.Fatalf("%s set %d times, want once", key, len(vals))
		}
		got := strings.Fields(vals[0])
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s=%v, want exactly %v", key, got, want)
		}
	}
	if v := unitValues(t, "DynamicUser"); !slices.Equal(v, []string{"yes"}) {
		t.Errorf("DynamicUser=%v: the service must not run as root", v)
	}
	if v := unitValues(t, "NoNewPrivileges"); !slices.Equal(v, []string{"yes"}) {
		t.Errorf("NoNewPrivileges=%v", v)
	}

	exec := unitValues(t, "ExecStart")
	if len(exec) != 1 {
		t.Fatalf("ExecStart %v", exec)
	}
	args := strings.Fields(exec[0])
	if len(args) < 2 || args[1] != "watch" {
		t.Fatalf("ExecStart %v does not run watch", args)
	}
	flags := newWatch().Flags()
	for _, a := range args[2:] {
		if name, ok := strings.CutPrefix(a, "--"); ok {
			if flags.Lookup(name) == nil {
				t.Errorf("ExecStart passes --%s, which watch does not know", name)
			}
		} else if len(a) == 2 && a[0] == '-' && flags.ShorthandLookup(a[1:]) == nil {
			t.Errorf("ExecStart passes %s, which watch does not know", a)
		}
	}
}

// TestPrometheusRules checks the alerting rules with promtool and runs
// their unit tests (dist/prometheus/alerts_test.yml).
func TestPrometheusRules(t *testing.T) {
	testenv.RequireTools(t, "promtool")
	dir := filepath.Join(distDir, "prometheus")
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		cmd := exec.Command("promtool", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestAlertRulesUseExportedMetrics: every wirecheck_ series the rules and
// the docs name is one the collector exports, so that a renamed metric
// cannot leave an alert that never fires.
func TestAlertRulesUseExportedMetrics(t *testing.T) {
	exported := map[string]bool{}
	for _, name := range watch.MetricNames() {
		exported[name] = true
	}
	if len(exported) < 20 {
		t.Fatalf("only %d metrics described", len(exported))
	}
	re := regexp.MustCompile(`wirecheck_[a-z_]+`)
	for _, name := range []string{"prometheus/alerts.yml", "prometheus/alerts_test.yml", "README.md"} {
		data, err := os.ReadFile(filepath.Join(distDir, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllString(string(data), -1) {
			if !exported[m] && !strings.HasSuffix(m, "_") {
				t.Errorf("%s names %s, which wirecheck does not export", name, m)
			}
		}
	}
}
