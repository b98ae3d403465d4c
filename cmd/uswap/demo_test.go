package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"uswap/workload"
)

// runDemoCmd runs `uswap demo args...` in-process on a fresh command and
// returns its output and the exit status main would give.
func runDemoCmd(t *testing.T, args ...string) (string, int, error) {
	t.Helper()
	cmd := newDemoCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), exitStatus(err), err
}

// exitStatus is main's mapping of an error to an exit status.
func exitStatus(err error) int {
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue) || isCobraUsage(err):
		return 2
	default:
		return 1
	}
}

// counter reads name=<n> from out.
func counter(t *testing.T, out, name string) int64 {
	t.Helper()
	m := regexp.MustCompile(`\b` + name + `=(\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %s= in output:\n%s", name, out)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

func TestDemoRuns(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"ram-lz4", []string{"--comp", "lz4"}},
		{"ram-zstd", []string{"--comp", "zstd", "--pattern", "random"}},
		{"file", []string{"--device", filepath.Join(dir, "swapfile"), "--pattern", "zero"}},
		{"threads", []string{"--threads", "2", "--passes", "3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"--size", "2M", "--ram", "512K"}, tc.args...)
			out, status, err := runDemoCmd(t, args...)
			if status != 0 {
				t.Fatalf("demo %v: status %d, %v\n%s", args, status, err, out)
			}
			last := out[strings.LastIndex(strings.TrimSuffix(out, "\n"), "\n")+1:]
			if !strings.HasPrefix(last, "result ") || !strings.Contains(last, "corrupt=0") || !strings.Contains(last, "audit=clean") {
				t.Errorf("last line %q, want a clean result\n%s", last, out)
			}
			if counter(t, last, "pages") != 512 {
				t.Errorf("last line %q: want pages=512", last)
			}
			if counter(t, out, "pswpin") == 0 || counter(t, out, "pswpout") == 0 {
				t.Errorf("no swapping:\n%s", out)
			}
			if tc.name == "file" {
				if !strings.Contains(out, "swap file: discards=") {
					t.Errorf("no swap file line:\n%s", out)
				}
			} else if !strings.Contains(out, "mm_stat: orig=") {
				t.Errorf("no mm_stat line:\n%s", out)
			}
		})
	}
}

func TestDemoJSON(t *testing.T) {
	out, status, err := runDemoCmd(t, "--size", "1M", "--ram", "256K", "--json")
	if status != 0 {
		t.Fatalf("status %d, %v\n%s", status, err, out)
	}
	var rep struct {
		Pages      int
		Corrupt    int64
		PswpIn     uint64 `json:"pswpin"`
		PswpOut    uint64 `json:"pswpout"`
		AuditClean bool   `json:"audit_clean"`
		Passes     []struct{ Faults int64 }
		MMStat     *struct {
			Orig uint64 `json:"orig_data_size"`
		} `json:"mm_stat"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out)
	}
	if rep.Pages != 256 || rep.Corrupt != 0 || !rep.AuditClean || rep.PswpIn == 0 || rep.PswpOut == 0 || len(rep.Passes) != 2 || rep.MMStat == nil || rep.MMStat.Orig == 0 {
		t.Errorf("report %+v\n%s", rep, out)
	}
}

// A swap area left by an earlier run is reused; any other file is not
// overwritten.
func TestDemoSwapFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "swapfile")
	for range 2 {
		if out, status, err := runDemoCmd(t, "--size", "256K", "--ram", "64K", "--device", path); status != 0 {
			t.Fatalf("status %d, %v\n%s", status, err, out)
		}
	}
	other := filepath.Join(dir, "precious")
	if err := os.WriteFile(other, []byte("not a swap area"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, status, err := runDemoCmd(t, "--size", "256K", "--ram", "64K", "--device", other)
	if status != 1 || err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Errorf("status %d, %v; want 1 and a refusal", status, err)
	}
	if b, _ := os.ReadFile(other); string(b) != "not a swap area" {
		t.Errorf("the file was changed: %q", b)
	}
}

func TestDemoBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--size", "5000"}, "not a multiple of 4096"},
		{[]string{"--ram", "6K"}, "not a multiple of 4096"},
		{[]string{"--size", "0"}, "bad size"},
		{[]string{"--size", "-4K"}, "bad size"},
		{[]string{"--size", "lots"}, "bad size"},
		{[]string{"--ram", "12K"}, "at least 4 are needed"},
		{[]string{"--comp", "lzo"}, `unknown compressor "lzo"`},
		{[]string{"--pattern", "stripes"}, `unknown pattern "stripes"`},
		{[]string{"--threads", "0"}, "--threads 0"},
		{[]string{"--passes", "0"}, "--passes 0"},
		{[]string{"--threads", "x"}, "invalid argument"},
		{[]string{"--bogus"}, "unknown flag"},
		{[]string{"extra"}, "unknown command"},
	} {
		_, status, err := runDemoCmd(t, tc.args...)
		if status != 2 || err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("demo %v: status %d, error %v; want status 2 and %q", tc.args, status, err, tc.want)
		}
	}
}

func TestMedianRate(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{5}, 5},
		{[]float64{4, 2}, 3},
		{[]float64{9, 1, 5}, 5},
	} {
		ps := make([]demoPass, len(tc.in))
		for i, v := range tc.in {
			ps[i].PagesPerS = v
		}
		if got := medianRate(ps); got != tc.want {
			t.Errorf("medianRate(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// check must notice a wrong index and, on a full check, any other byte.
func TestDemoCheck(t *testing.T) {
	d := &demo{cfg: demoConfig{pattern: workload.Mixed}}
	page, buf := make([]byte, workload.PageSize), make([]byte, workload.PageSize)
	workload.FillPage(page, 7, workload.Mixed)
	d.check(7, page, buf, true)
	if n := d.corrupt.Load(); n != 0 {
		t.Fatalf("a good page counted corrupt (%d)", n)
	}
	d.check(8, page, buf, false) // wrong index
	page[100] ^= 1
	d.check(7, page, buf, false) // first 8 bytes only: not seen
	d.check(7, page, buf, true)  // seen
	if n := d.corrupt.Load(); n != 2 {
		t.Errorf("corrupt=%d, want 2", n)
	}
}
