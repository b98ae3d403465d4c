package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"uswap/fixes"
)

// TestMain runs the real command when re-executed by a test
// (USWAP_TEST_MAIN=1): the subprocess tests send it signals, and the
// kernel engine re-executes it as its child.
func TestMain(m *testing.M) {
	if os.Getenv("USWAP_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// runUswap runs the command line args in this process on a fresh
// command tree and returns its output (standard output and error, with
// the error line main would print) and the exit status main would give.
func runUswap(t *testing.T, args ...string) (string, int) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	reportError(&out, err)
	return out.String(), exitStatus(err)
}

// uswapProcess is the real command in a child process: this test binary
// running main.
func uswapProcess(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "USWAP_TEST_MAIN=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	return cmd, &out
}

// TestExitStatuses: a bad flag is refused before any work with status 2
// and a message naming the flag and what it accepts; a failed check is 1.
func TestExitStatuses(t *testing.T) {
	dir := t.TempDir()
	notes := filepath.Join(dir, "notes.txt")
	os.WriteFile(notes, []byte(strings.Repeat("my notes\n", 1000)), 0o644)
	for _, tc := range []struct {
		args   []string
		status int
		want   string
	}{
		{[]string{"bench", "usemem", "--threads", "0"}, 2, "threads must be 1 to 64"},
		{[]string{"bench", "usemem", "--pattern", "ones"}, 2, `pattern "ones"`},
		{[]string{"bench", "usemem", "--engine", "bsd"}, 2, `engine "bsd"`},
		{[]string{"bench", "usemem", "--comp", "gzip"}, 2, `compressor "gzip": uswap's RAM device offers [lz4 minlz s2 snappy zstd zstd-fast]`},
		{[]string{"bench", "usemem", "--memcg-bg-reclaim", "both"}, 2, `--memcg-bg-reclaim "both": want on or off`},
		{[]string{"bench", "compare", "--memcg-bg-reclaim", "maybe"}, 2, `--memcg-bg-reclaim "maybe": want on, off or both`},
		{[]string{"bench", "compare", "--rounds", "0"}, 2, `--rounds 0: want 1 to 100`},
		{[]string{"bench", "comp", "--pattern", "stripes"}, 2, `--pattern "stripes"`},
		{[]string{"bench", "usemem", "--device", "tape"}, 2, `device "tape"`},
		{[]string{"bench", "usemem", "--size", "x"}, 2, "bad size"},
		{[]string{"bench", "usemem", "--size", "1500K"}, 2, "whole numbers of MiB"},
		{[]string{"bench", "usemem", "--size", "900G", "--limit", "400G"}, 2, "--size 900G (with --limit 400G): the limit plus the compressed swap"},
		{[]string{"bench", "usemem", "--plot", "/nonexistent/dir/p.png"}, 2, "--plot /nonexistent/dir/p.png: directory /nonexistent/dir does not exist"},
		{[]string{"bench", "usemem", "--cpuprofile", dir}, 2, "--cpuprofile " + dir + ": is a directory"},
		{[]string{"bench", "usemem", "--json=/nonexistent/x.json"}, 2, "--json /nonexistent/x.json"},
		{[]string{"bench", "usemem", "--device", "file", "--swapfile", notes}, 2, "not a swap area uswap made (it holds data"},
		{[]string{"bench", "usemem", "--swapfile", notes}, 2, "--swapfile and --block-device go with --device file"},
		{[]string{"bench", "usemem", "--design", "both"}, 2, `--design: unknown swap design "both"`},
		{[]string{"bench", "compare", "--no-such-flag"}, 2, "unknown flag"},
		{[]string{"bench", "compare-designs", "--rounds", "0"}, 2, "--rounds 0: must be 1 to 100"},
		{[]string{"bench", "compare-designs", "--rows", "some"}, 2, `--rows "some": want usemem, swapin or all`},
		{[]string{"bench", "compare-designs", "--passes", "0"}, 2, "passes must be at least 1"},
		{[]string{"bench", "compare-designs", "--swapfile", notes}, 2, "--swapfile goes with --device file"},
		{[]string{"bench", "compare", "extra"}, 2, "unknown command"},
		{[]string{"explore", "--scenario", "nope"}, 2, "swapoff-free"},
		{[]string{"explore", "--scenario", "swapoff-free", "--revert", "nope"}, 2, "swap-device"},
		{[]string{"explore", "--scenario", "swapoff-free", "--fix", "swap-device=nope"}, 2, "--fix"},
		{[]string{"explore", "--scenario", "swapoff-free", "--strategy", "bfs"}, 2, "walk:P (0 <= P < 1)"},
		{[]string{"explore", "--scenario", "swapoff-free", "--strategy", "pct:0"}, 2, "pct:D (1 <= D <= 64)"},
		{[]string{"explore"}, 2, "--scenario or --script is required"},
		{[]string{"explore", "--scenario", "swapoff-free", "--design", "nope"}, 2, "known: classic, table"},
		{[]string{"explore", "--scenario", "swapoff-free", "--design", "both", "--replay", "0"}, 2, "--replay needs one design"},
		{[]string{"explore", "--scenario", "swapoff-free", "--prove", "--revert", "all"}, 2, "--prove chooses"},
		{[]string{"explore", "--scenario", "swapoff-free", "--budgets", "--design", "table"}, 2, "no --design with it"},
		{[]string{"explore", "--scenario", "all", "--replay", "0"}, 2, "one scenario"},
		{[]string{"explore", "--scenario", "swapoff-free", "--replay", "x!"}, 2, "bad choice"},
		{[]string{"explore", "--scenario", "swapoff-free", "--replay", "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.7"}, 2, "do not fit the scenario"},
		{[]string{"explore", "--scenario", "swapoff-free", "--runs", "-1"}, 2, "--runs -1"},
		{[]string{"explore", "--scenario", "swapoff-free", "--workers", "-1"}, 2, "--workers -1"},
		{[]string{"explore", "--scenario", "swapoff-free", "--html", dir}, 2, "is a directory"},
		{[]string{"stress"}, 2, "--ops or --duration"},
		{[]string{"stress", "--ops", "10", "--tasks", "0"}, 2, "--tasks 0: must be 1 to 256"},
		{[]string{"stress", "--ops", "10", "--ram", "32K"}, 2, "--ram 32K"},
		{[]string{"stress", "--ops", "10", "--ram", "1M", "--limit", "2M"}, 2, "--limit 2M: must be within --ram 1M"},
		{[]string{"stress", "--ops", "10", "--limit", "5000B"}, 2, "--limit 5000B: must be a whole number of 4 KiB pages"},
		{[]string{"stress", "--ops", "10", "--ram", "64T"}, 2, "--ram 64T: the machine"},
		{[]string{"stress", "--ops", "10", "--device", "tape"}, 2, `--device "tape"`},
		{[]string{"stress", "--ops", "10", "--faults", "sideways"}, 2, `operation "sideways"`},
		{[]string{"stress", "--ops", "10", "--faults", "read:rate=2"}, 2, "bad rate"},
		{[]string{"stress", "--ops", "10", "--swap-size", "12K"}, 2, "--swap-size 12K"},
		{[]string{"stress", "--ops", "10", "--file-size", "8M"}, 2, "--file-size 8M: must be 4K to 4M"},
		{[]string{"stress", "--ops", "ten"}, 2, "invalid argument"},
		{[]string{"stress", "--ops", "10", "--design", "swapmap"}, 2, `--design: unknown swap design "swapmap"`},
		{[]string{"demo", "--comp", "gzip"}, 2, `--comp "gzip"`},
		{[]string{"demo", "--limit", "128M"}, 2, "--limit 128M: must be a whole number of 4 KiB pages, 64K to --size (64M)"},
		{[]string{"mkswap", filepath.Join(dir, "a"), "40961"}, 2, "SIZE 40961: must be a whole number of 4 KiB pages"},
		{[]string{"mkswap", filepath.Join(dir, "a"), "4K"}, 2, "at least 10 pages"},
		{[]string{"mkswap", filepath.Join(dir, "a"), "lots"}, 2, "lots"},
		{[]string{"mkswap", filepath.Join(dir, "a")}, 2, "SIZE is needed"},
		{[]string{"mkswap", notes, "64K"}, 2, "it holds data with no known signature"},
		{[]string{"mkswap", "/nonexistent/dir/swapfile", "64K"}, 3, "/nonexistent/dir"},
		{[]string{"swapinfo", notes}, 1, "swapon would refuse"},
		{[]string{"swapinfo", filepath.Join(dir, "missing")}, 2, "missing"},
		{[]string{"swapinfo"}, 2, "accepts 1 arg"},
	} {
		out, status := runUswap(t, tc.args...)
		if status != tc.status || !strings.Contains(out, tc.want) {
			t.Errorf("uswap %s: status %d, output:\n%s\nwant status %d and %q", strings.Join(tc.args, " "), status, out, tc.status, tc.want)
		}
	}
}

// TestJSONEnvelope: every command's --json is one object in the
// documented envelope.
func TestJSONEnvelope(t *testing.T) {
	dir := t.TempDir()
	swap := filepath.Join(dir, "swap")
	for _, args := range [][]string{
		{"version", "--json"},
		{"mkswap", "--json", swap, "64K"},
		{"swapinfo", "--json", swap},
		{"bench", "usemem", "--json", "-s", "4", "-l", "2", "-p", "1"},
		{"stress", "--json", "--ops", "300", "--checkpoint", "0"},
		{"explore", "--json", "--scenario", "swapoff-free", "--runs", "20"},
		{"explore", "--json", "--prove", "--scenario", "swapcache-pin", "--design", "table", "--runs", "20"},
		{"demo", "--json", "--size", "1M", "--limit", "256K"},
	} {
		out, status := runUswap(t, args...)
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil || status != 0 {
			t.Errorf("uswap %v: status %d, %v:\n%s", args, status, err, out)
			continue
		}
		want := strings.Join(args[:1], " ")
		if args[0] == "bench" {
			want = "bench usemem"
		}
		if v["schema"] != jsonSchema || v["command"] != want {
			t.Errorf("uswap %v: schema %v, command %v", args, v["schema"], v["command"])
		}
	}
	// --json=FILE writes the file whole and prints the text.
	file := filepath.Join(dir, "v.json")
	out, status := runUswap(t, "version", "--json="+file)
	if b, err := os.ReadFile(file); status != 0 || err != nil || !bytes.Contains(b, []byte(`"schema": "uswap/v1"`)) || !strings.Contains(out, "revision") {
		t.Errorf("--json=FILE: status %d, %v, file %q, output %q", status, err, b, out)
	}
}

// TestREADMEFlags: the README's flags table is what the commands say
// (go run ./cmd/uswap docs --readme README.md regenerates it).
func TestREADMEFlags(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	b, e := bytes.Index(readme, []byte(flagsBegin)), bytes.Index(readme, []byte(flagsEnd))
	if b < 0 || e < b {
		t.Fatalf("README.md has no %q ... %q block", flagsBegin, flagsEnd)
	}
	got := string(readme[b+len(flagsBegin)+1 : e])
	if want := flagsTable(rootCmd); got != want {
		t.Errorf("README.md's flags table differs from the commands' flags; run `go run ./cmd/uswap docs --readme README.md`")
	}
	for _, c := range documented(rootCmd) {
		if !strings.Contains(got, "`"+c.CommandPath()+"`") {
			t.Errorf("README.md's flags table lacks %s", c.CommandPath())
		}
	}
}

func TestVersion(t *testing.T) {
	out, status := runUswap(t, "version")
	if status != 0 || !regexp.MustCompile(`^uswap \S+\nrevision \S+`).MatchString(out) || !strings.Contains(out, "go1.") {
		t.Errorf("status %d:\n%s", status, out)
	}
}

// TestCompletion: the shell completion of names comes from the packages
// that own them.
func TestCompletion(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"explore", "--scenario", ""}, []string{"all", "swapoff-free", "swapcache-pin"}},
		{[]string{"explore", "--revert", ""}, []string{"all", "swap-device", "swapcache"}},
		{[]string{"explore", "--fix", ""}, fixes.Completions()},
		{[]string{"explore", "--strategy", ""}, []string{"random", "walk:0.99", "pct:3", "dfs:2"}},
		{[]string{"bench", "usemem", "--comp", ""}, []string{"lz4", "zstd"}},
		{[]string{"demo", "--comp", ""}, []string{"lz4", "zstd"}},
		{[]string{"stress", "--device", ""}, []string{"ram", "file"}},
		{[]string{"explore", "--design", ""}, []string{"classic", "table", "both"}},
	} {
		out, status := runUswap(t, append([]string{"__complete"}, tc.args...)...)
		got := names(strings.Split(out, "\n"))
		for _, w := range tc.want {
			if status != 0 || !contains(got, w) {
				t.Errorf("completion of %v: status %d, %q lacks %q", tc.args, status, got, w)
			}
		}
	}
}

// names drops the descriptions of a completion list.
func names(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i], _, _ = strings.Cut(s, "\t")
	}
	return out
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		bare int64
		want int64
		ok   bool
	}{
		{"64", mib, 64 << 20, true},
		{"64", kib, 64 << 10, true},
		{"0", mib, 0, true},
		{"64K", mib, 64 << 10, true},
		{"64M", kib, 64 << 20, true},
		{"64m", mib, 64 << 20, true},
		{"1G", mib, 1 << 30, true},
		{"1GiB", mib, 1 << 30, true},
		{"2MB", mib, 2 << 20, true},
		{"4096B", mib, 4096, true},
		{"1T", mib, 1 << 40, true},
		{"", mib, 0, false},
		{"M", mib, 0, false},
		{"-5M", mib, 0, false},
		{"1.5G", mib, 0, false},
		{"12X", mib, 0, false},
		{"99999999999T", mib, 0, false},
	} {
		got, err := parseSize(tc.in, tc.bare)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseSize(%q, %d) = %d, %v; want %d ok=%v", tc.in, tc.bare, got, err, tc.want, tc.ok)
		}
	}
	for n, want := range map[int64]string{1 << 30: "1G", 256 << 20: "256M", 512 << 10: "512K", 4097: "4097B", 0: "0B"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestOutputWholeOrNothing: a failed write leaves the old file as it was
// and no temporary file behind.
func TestOutputWholeOrNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.png")
	os.WriteFile(path, []byte("the old plot"), 0o644)
	err := writeOutput(path, func(w io.Writer) error {
		w.Write([]byte("half a plo"))
		return errors.New("the plot failed")
	})
	if got, _ := os.ReadFile(path); err == nil || string(got) != "the old plot" {
		t.Errorf("err %v, file %q", err, got)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
	if err := writeOutput(path, func(w io.Writer) error { _, err := w.Write([]byte("new")); return err }); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "new" {
		t.Errorf("file %q", got)
	}
}
