package system_test

import (
	"fmt"
	"strings"
	"testing"
	"uswap/design"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/mm"
	"uswap/system"
	"uswap/workload"
)

func TestConfigErrors(t *testing.T) {
	tk := ksync.NewTask("test", 0)
	for _, c := range []struct {
		name string
		cfg  system.Config
		want string
	}{
		{"zero frames", system.Config{}, "frames"},
		{"limit above pool", system.Config{Frames: 10, MemcgLimit: 11}, "above"},
		{"unknown device", system.Config{Frames: 10, Devices: []system.DeviceConfig{{Kind: "tape", Pages: 100}}}, "unknown kind"},
		{"file without path", system.Config{Frames: 10, Devices: []system.DeviceConfig{{Kind: "file", Pages: 100}}}, "path"},
		{"bad readahead", system.Config{Frames: 10, Readahead: "sideways"}, "readahead"},
		{"negative frames", system.Config{Frames: -1}, "frames"},
		{"bad compressor", system.Config{Frames: 10, Devices: []system.DeviceConfig{{Kind: "ram", Pages: 100, Comp: "gzip"}}}, "gzip"},
		{"zero-page device", system.Config{Frames: 10, Devices: []system.DeviceConfig{{Kind: "ram"}}}, "0 pages"},
		{"unopenable path", system.Config{Frames: 10, Devices: []system.DeviceConfig{{Kind: "file", Pages: 100, Path: "/nonexistent/dir/swapfile"}}}, "/nonexistent/dir/swapfile"},
		{"device too small", system.Config{Frames: 10, Devices: []system.DeviceConfig{{Kind: "file", Pages: 2, Path: t.TempDir() + "/s"}}}, "pages"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := system.New(tk, c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error about %q", err, c.want)
			}
			if strings.Count(err.Error(), "\n") != 0 {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

// usemem fills pages and then rewrites and re-checks them for rounds.
func usemem(t *ksync.Task, s *system.System, pages, rounds int, seed uint64) error {
	return withGens(t, s, gens(pages, seed<<24), func(m *mm.MM, addr uint64, gen []uint64) error {
		rng := seed
		for r := range rounds {
			if err := checkPages(t, m, addr, gen); err != nil {
				return fmt.Errorf("round %d: %w", r, err)
			}
			for range pages / 4 {
				i := int(workload.SplitMix64(&rng) % uint64(pages))
				gen[i] += 1 << 40
				if err := store(t, m, addr, i, gen[i]); err != nil {
					return err
				}
			}
		}
		return checkPages(t, m, addr, gen)
	})
}

// forkStorm forks children that check the shared pages, write some of
// their own (copy-on-write, also from swapped pages) and exit, while the
// parent keeps writing.
func forkStorm(t *ksync.Task, s *system.System, pages, forks int, seed uint64) error {
	return withGens(t, s, gens(pages, seed<<24), func(m *mm.MM, addr uint64, gen []uint64) error {
		rng := seed
		for f := range forks {
			child, err := m.Fork(t)
			if err != nil {
				return err
			}
			cgen := append([]uint64(nil), gen...)
			for range 4 {
				i := int(workload.SplitMix64(&rng) % uint64(pages))
				cgen[i] += 1 << 41
				if err := store(t, child, addr, i, cgen[i]); err != nil {
					child.Exit(t)
					return fmt.Errorf("fork %d: child: %w", f, err)
				}
				i = int(workload.SplitMix64(&rng) % uint64(pages))
				gen[i] += 1 << 40
				if err := store(t, m, addr, i, gen[i]); err != nil {
					child.Exit(t)
					return err
				}
			}
			if err := checkPages(t, child, addr, cgen); err != nil {
				child.Exit(t)
				return fmt.Errorf("fork %d: child: %w", f, err)
			}
			child.Exit(t)
		}
		return checkPages(t, m, addr, gen)
	})
}

func stress(t *testing.T, kind string, kswapd bool) {
	forDesigns(t, func(t *testing.T, d design.Design) { stressCfg(t, d, kind, kswapd, 1024, 160) })
}

// stressCfg runs the stress load on a machine of frames frames with the
// workload cgroup limited to limit pages (0: no cgroup limit, so that the
// pool itself runs out and kswapd and direct reclaim do the work).
func stressCfg(t *testing.T, d design.Design, kind string, kswapd bool, frames int, limit int64) {
	dev := system.DeviceConfig{Kind: kind, Pages: 4096, Priority: -1}
	if kind == "file" {
		dev.Path = t.TempDir() + "/swapfile"
	}
	cfg := system.Config{
		Frames:      frames,
		MemcgLimit:  limit,
		Fixes:       fixes.Default(),
		PageCluster: 3,
		Design:      d,
		Kswapd:      kswapd,
		// A second device so that swapoff of one can move pages to
		// the other.
		Devices: []system.DeviceConfig{dev, {Kind: "ram", Pages: 4096, Priority: -1}},
	}
	tk := ksync.NewTask("stress", 0)
	s, err := system.New(tk, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(tk)
	users, pages, rounds, forks := 4, 128, 6, 20
	if testing.Short() {
		users, rounds, forks = 3, 2, 6
	}
	var done ksync.Completion
	var left ksync.Int32
	left.Init(int32(users + 2))
	errs := make([]error, users+2)
	finish := func(t2 *ksync.Task) {
		if left.Add(t2, -1) == 0 {
			done.Complete(t2)
		}
	}
	for u := range users {
		ksync.Spawn(tk, fmt.Sprintf("usemem%d", u), u, func(t2 *ksync.Task) {
			defer finish(t2)
			errs[u] = usemem(t2, s, pages, rounds, uint64(u+1))
		})
	}
	for f := range 2 {
		ksync.Spawn(tk, fmt.Sprintf("forker%d", f), users+f, func(t2 *ksync.Task) {
			defer finish(t2)
			errs[users+f] = forkStorm(t2, s, pages/2, forks, uint64(100+f))
		})
	}
	// swapoff/swapon cycles until the workloads are done.
	cycles, failed := 0, 0
	for i := 0; !done.Done(tk); i++ {
		d := i % 2
		if err := s.Swapoff(tk, d); err != nil {
			failed++
		} else if err := s.Swapon(tk, d); err != nil {
			t.Fatal(err)
		}
		cycles++
		ksync.ScheduleTimeout(tk, 2_000_000)
	}
	done.Wait(tk)
	st := &s.Node().Stat
	t.Logf("%s, %s design: %d swapoff cycles (%d failed), pswpout %d pswpin %d, kswapd wakeups %d, pgsteal %d, oom %d", kind, d, cycles, failed,
		s.Core().Stats.PswpOut.Sum(), s.Core().Stats.PswpIn.Sum(), st.KswapdWake.Sum(), st.PgSteal.Sum(), st.OOM.Sum())
	for i, err := range errs {
		if err != nil {
			t.Errorf("task %d: %v", i, err)
		}
	}
	s.Node().StopKswapd(tk)
	for _, v := range s.AuditEmpty(tk) {
		t.Errorf("audit: %v", v)
	}
}

func TestStressRAM(t *testing.T)  { stress(t, "ram", true) }
func TestStressFile(t *testing.T) { stress(t, "file", true) }
func TestStressNoKswapd(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	stress(t, "ram", false)
}

// The pool itself is smaller than the working set: kswapd (woken at the
// low watermark) and direct reclaim keep the machine going.
func TestStressPoolPressure(t *testing.T) {
	forDesigns(t, func(t *testing.T, d design.Design) { stressCfg(t, d, "ram", true, 256, 0) })
}
func TestStressPoolPressureDirect(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	forDesigns(t, func(t *testing.T, d design.Design) { stressCfg(t, d, "file", false, 256, 0) })
}
