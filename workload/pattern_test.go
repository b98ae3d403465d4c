package workload

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// cProgram extracts splitmix64 and fill_page from usemem.c and prints the
// SHA-256 of a few pages of each pattern, so the Go code is checked
// against the benchmark's own C code rather than against a copy of it.
const cMain = `
#include <stdio.h>
int main(void) {
	static unsigned char p[PAGE];
	const char *pats[] = {"zero", "random", "mixed"};
	unsigned long long idx[] = {0, 1, 7, 262143, 123456789012ULL};
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < 5; i++) {
			fill_page(p, idx[i], pats[k]);
			printf("%s %llu ", pats[k], idx[i]);
			fwrite(p, 1, PAGE, stdout);
			printf("\n");
		}
	return 0;
}
`

func TestFillPageMatchesUsemem(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc not on PATH: cannot compile usemem.c's fill_page to compare")
	}
	// shared/ stands beside the repository's checkout, in CI too.
	src, err := os.ReadFile("../../shared/bench/usemem.c")
	if err != nil {
		t.Skipf("usemem.c not available: %v", err)
	}
	// Keep everything up to the end of fill_page, drop usemem's main.
	s := string(src)
	end := regexp.MustCompile(`(?s)static void fill_page\(.*?\n}\n`).FindStringIndex(s)
	if end == nil {
		t.Fatal("fill_page not found in usemem.c")
	}
	dir := t.TempDir()
	c := filepath.Join(dir, "fill.c")
	if err := os.WriteFile(c, []byte(s[:end[1]]+cMain), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "fill")
	if out, err := exec.Command(gcc, "-O1", "-o", bin, c, "-lpthread").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for len(out) > 0 {
		// "<pattern> <index> " then PAGE raw bytes then "\n"
		sp1 := bytes.IndexByte(out, ' ')
		sp2 := sp1 + 1 + bytes.IndexByte(out[sp1+1:], ' ')
		name, idxs := string(out[:sp1]), string(out[sp1+1:sp2])
		page := out[sp2+1 : sp2+1+PageSize]
		out = out[sp2+1+PageSize+1:]
		pat, err := ParsePattern(name)
		if err != nil {
			t.Fatal(err)
		}
		var idx uint64
		for _, ch := range idxs {
			idx = idx*10 + uint64(ch-'0')
		}
		got := make([]byte, PageSize)
		FillPage(got, idx, pat)
		if !bytes.Equal(got, page) {
			t.Errorf("page %d pattern %s differs from usemem.c's fill_page", idx, pat)
		}
		n++
	}
	if n != 15 {
		t.Fatalf("compared %d pages, want 15", n)
	}
}

// TestFillPageKnownWords pins a few values computed from the C code, so
// the pattern is checked even where gcc is missing.
func TestFillPageKnownWords(t *testing.T) {
	s := uint64(0)
	// splitmix64 seeded with 0: the reference sequence's first outputs.
	for _, want := range []uint64{0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f} {
		if got := SplitMix64(&s); got != want {
			t.Fatalf("SplitMix64 = %#x, want %#x", got, want)
		}
	}
	p := make([]byte, PageSize)
	for _, pat := range []Pattern{Zero, Random, Mixed} {
		FillPage(p, 42, pat)
		if p[0] != 42 || !bytes.Equal(p[1:8], make([]byte, 7)) {
			t.Errorf("%s: first word is not the index", pat)
		}
	}
	sum := func(idx uint64, pat Pattern) string {
		FillPage(p, idx, pat)
		h := sha256.Sum256(p)
		return hex.EncodeToString(h[:8])
	}
	if a, b := sum(1, Mixed), sum(2, Mixed); a == b {
		t.Error("mixed pages 1 and 2 are identical")
	}
	if _, err := ParsePattern("bogus"); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("ParsePattern(bogus) = %v, want an error naming it", err)
	}
}
