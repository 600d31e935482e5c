package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// pgoProfile writes to dst the profile that go build optimises wirecheck
// with (profile-guided optimisation: cmd/wirecheck/default.pgo), merged
// from CPU profiles of the runs this benchmark times: the text report of
// the bench capture, each flow allowed (most of the runs) and each a
// problem, and its JSON report. The binary profiled is built without the
// profile it replaces.
func pgoProfile(dst string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := captures(mix); err != nil {
		return err
	}
	wc := filepath.Join(out, "wirecheck-nopgo")
	if b, err := exec.Command("go", "build", "-pgo=off", "-o", wc, "./cmd/wirecheck").CombinedOutput(); err != nil {
		return fmt.Errorf("build wirecheck: %v\n%s", err, b)
	}
	file := filepath.Join(out, mix.name)
	runs := []struct {
		n    int
		args []string
	}{
		{6, []string{"-p", "bench/profile.yaml"}},
		{2, []string{"-p", "storage-gateway/common"}},
		{2, []string{"-p", "bench/profile.yaml", "--format", "json"}},
	}
	dir, err := os.MkdirTemp(out, "pgo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	merge := []string{"tool", "pprof", "-proto"}
	for i, r := range runs {
		for j := range r.n {
			p := filepath.Join(dir, fmt.Sprintf("%d-%d.pprof", i, j))
			argv := append([]string{"analyse", "-q", "--cpuprofile", p, "-o", "/dev/null"}, r.args...)
			if _, _, err := runOnce(command{"wirecheck analyse", append([]string{wc}, append(argv, file)...)}); err != nil {
				return err
			}
			merge = append(merge, p)
		}
	}
	merged, err := exec.Command("go", merge...).Output()
	if err != nil {
		return fmt.Errorf("go tool pprof: %w", err)
	}
	fmt.Printf("%s: %d bytes from %d runs on %s\n", dst, len(merged), len(merge)-3, file)
	return os.WriteFile(dst, merged, 0o644)
}
