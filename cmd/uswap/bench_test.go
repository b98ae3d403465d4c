package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// runUswap runs the command line args in this process and returns its
// output and whether main would exit with status 2.
func runUswap(t *testing.T, args ...string) (string, error, bool) {
	t.Helper()
	var out bytes.Buffer
	rootCmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&out)
	rootCmd.SetArgs(args)
	err := rootCmd.Execute()
	var ue usageError
	return out.String(), err, err != nil && (errors.As(err, &ue) || isCobraUsage(err))
}

func TestBenchBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"bench", "usemem", "--threads", "0"}, "threads must be 1 to 64"},
		{[]string{"bench", "usemem", "-t", "1", "--pattern", "ones"}, "pattern \"ones\""},
		{[]string{"bench", "usemem", "-P", "mixed", "--engine", "bsd"}, "engine \"bsd\""},
		{[]string{"bench", "usemem", "--engine", "uswap", "--comp", "gzip"}, "compressor \"gzip\""},
		{[]string{"bench", "usemem", "-c", "lz4", "--device", "tape"}, "device \"tape\""},
		{[]string{"bench", "usemem", "--device", "ram", "--size", "x"}, "invalid argument"},
		{[]string{"bench", "compare", "--no-such-flag"}, "unknown flag"},
		{[]string{"bench", "compare", "extra"}, "unknown command"},
	} {
		_, err, usage := runUswap(t, tc.args...)
		if err == nil || !usage {
			t.Errorf("%v: err %v, exit status 2: %v", tc.args, err, usage)
			continue
		}
		if !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%v: error %q does not say %q", tc.args, err, tc.msg)
		}
	}
}

// benchArgs are every bench flag, so that no value lingers from an
// earlier Execute of rootCmd.
func benchArgs(extra ...string) []string {
	return append([]string{"bench", "usemem", "-s", "8", "-l", "4", "-p", "2", "-t", "2", "-P", "mixed", "-c", "lz4",
		"--device", "ram", "--engine", "uswap", "-r=false", "-w=false", "--page-cluster", "-1", "--plot", ""}, extra...)
}

func TestBenchUsememText(t *testing.T) {
	out, err, _ := runUswap(t, benchArgs("--json=false")...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	if !regexp.MustCompile(`^result pages_per_s=\d+ pages=2048 threads=2 access=seq write=0 pattern=mixed corrupt=0$`).MatchString(last) {
		t.Fatalf("last line %q\n%s", last, out)
	}
	for _, want := range []string{"engine=uswap", "vmstat pswpin=", "mm_stat orig_data_size=", "latency_us count=4096"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestBenchUsememJSONPlot(t *testing.T) {
	png := filepath.Join(t.TempDir(), "b.png")
	out, err, _ := runUswap(t, benchArgs("--json", "--plot", png, "-r", "-w")...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var rep struct {
		Engine   string `json:"engine"`
		Corrupt  uint64 `json:"corrupt"`
		Pages    uint64 `json:"pages"`
		Counters struct {
			Pswpin uint64 `json:"pswpin"`
		} `json:"counters"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Engine != "uswap" || rep.Corrupt != 0 || rep.Pages != 2048 || rep.Counters.Pswpin == 0 {
		t.Fatalf("report %+v", rep)
	}
	if st, err := os.Stat(png); err != nil || st.Size() == 0 {
		t.Fatalf("plot: %v", err)
	}
}
