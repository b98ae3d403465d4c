package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"uswap/stress"
	"uswap/swapdev"
)

// uswap stress: many tasks doing a seeded random mix of operations with
// device faults injected, every load checked against a reference model
// and the audit run at checkpoints and at the end (package stress).

func init() { addCommand(newStressCmd) }

// stressFlags are stress's flags; sizes in bytes.
type stressFlags struct {
	cfg                                     stress.Config
	faults                                  []string
	seed                                    int64
	ram, limit, swapSize, mapSize, fileSize int64
	jsonOut                                 string
	design                                  string
	fixes                                   fixFlags
}

func newStressCmd() *cobra.Command {
	var f stressFlags
	cmd := &cobra.Command{
		Use:   "stress",
		Short: "run many tasks doing a random mix of operations with injected device faults, checking every byte",
		Long: `Run --tasks tasks, each doing a seeded random mix of mmap, load, store,
fork, exit and munmap on its own address spaces (mappings of up to
--map-size), and of shmem operations on its own files of up to --file-size
(create, write and read of aligned and unaligned ranges, truncate, punch
hole, delete, shared mappings with loads and stores through them), for
--ops operations or for --duration, on a machine of --ram with a memory
cgroup limited to --limit and two swap devices of --swap-size, while a
controller swaps the devices off and on and moves the cgroup limit. Every
load and every read is checked against a per-task reference model (bytes
per address and per file offset); the audit runs every --checkpoint
operations (tasks quiesced) and at the end, after everything exited and
every file was deleted.

--faults RULE (repeatable) injects device faults, in swapdev's syntax:
OP[:key=value...] with OP read, write or rw and keys offset=N[,N...],
after=N, rate=P, times=N, delay=DURATION, and the flag nofail; e.g.
--faults read:rate=0.001 --faults write:rate=0.01. --fix NAME=VARIANT runs
a race fix as one of its variants (uswap explore --list shows them).

SIGBUS on a page whose swap-in read failed (anonymous or shmem), SIGBUS
through a shared mapping past EOF, OOM, and a swapoff that runs out of
memory are counted outcomes; a load that returns the wrong bytes, any other
error or any audit finding is a violation.

It touches nothing on the host but its memory and, with --device file,
two swap files in a private directory (under --dir, or the temporary
directory), removed at the end. No root needed.

Exit status: 0 clean, 1 a violation (the seed replays it), 2 a bad flag,
3 any other error, 130 interrupted (Ctrl-C: the tasks stop, everything is
audited and the summary printed).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runStress(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.IntVar(&f.cfg.Tasks, "tasks", 4, "tasks doing operations, 1 to 256")
	fl.Int64Var(&f.cfg.Ops, "ops", 0, "operations in all (0: run for --duration)")
	fl.DurationVar(&f.cfg.Duration, "duration", 0, "how long to run (with --ops: whichever ends first)")
	fl.Int64Var(&f.seed, "seed", 1, "seed of the operation mix and of the fault draws")
	fl.StringArrayVar(&f.faults, "faults", nil, "device fault rule, repeatable (e.g. read:rate=0.001)")
	fl.StringVar(&f.cfg.Device, "device", "ram", "swap device kind: ram or file")
	fl.StringVar(&f.cfg.Dir, "dir", "", "where to make the private directory of --device file's swap files (default: the temporary directory)")
	sizeFlag(fl, &f.ram, "ram", "", 4*mib, "the machine's RAM")
	sizeFlag(fl, &f.limit, "limit", "", 2*mib, "the workload cgroup's memory.max, at most --ram (0: none)")
	sizeFlag(fl, &f.swapSize, "swap-size", "", 16*mib, "size of each of the two swap devices, at least 40K")
	sizeFlag(fl, &f.mapSize, "map-size", "", 512*kib, "largest mapping a task makes")
	sizeFlag(fl, &f.fileSize, "file-size", "", 64*kib, "largest shmem file a task makes, up to 4M")
	fl.Int64Var(&f.cfg.Checkpoint, "checkpoint", 100000, "operations between audits (0: only at the end)")
	fl.BoolVar(&f.cfg.NoController, "no-controller", false, "no swapoff/swapon cycles or limit changes")
	addDesignFlag(fl, &f.design, false)
	f.fixes.register(fl)
	addJSONFlag(cmd, &f.jsonOut)
	return cmd
}

// check validates every flag into f.cfg.
func (f *stressFlags) check() error {
	c := &f.cfg
	switch {
	case c.Tasks < 1 || c.Tasks > 256:
		return usagef("--tasks %d: must be 1 to 256", c.Tasks)
	case c.Ops < 0:
		return usagef("--ops %d: must not be negative", c.Ops)
	case c.Duration < 0:
		return usagef("--duration %v: must not be negative", c.Duration)
	case c.Ops == 0 && c.Duration == 0:
		return usagef("give --ops or --duration")
	case c.Device != "ram" && c.Device != "file":
		return usagef("--device %q: want ram or file", c.Device)
	case c.Checkpoint < 0:
		return usagef("--checkpoint %d: must not be negative", c.Checkpoint)
	case c.Dir != "" && c.Device != "file":
		return usagef("--dir goes with --device file")
	}
	var frames, limit, swap, mapPages, filePages int64
	for _, s := range []struct {
		flag  string
		bytes int64
		pages *int64
	}{{"ram", f.ram, &frames}, {"limit", f.limit, &limit}, {"swap-size", f.swapSize, &swap}, {"map-size", f.mapSize, &mapPages}, {"file-size", f.fileSize, &filePages}} {
		n, err := pagesOf(s.flag, s.bytes)
		if err != nil {
			return err
		}
		*s.pages = n
	}
	switch {
	case frames < 16:
		return usagef("--ram %s: a machine needs at least 64K (16 pages)", formatSize(f.ram))
	case limit > frames:
		return usagef("--limit %s: must be within --ram %s", formatSize(f.limit), formatSize(f.ram))
	case swap < 10:
		return usagef("--swap-size %s: a swap device needs at least 40K (10 pages)", formatSize(f.swapSize))
	case mapPages < 1:
		return usagef("--map-size %s: must be at least 4K", formatSize(f.mapSize))
	case filePages < 1 || filePages > 1024:
		return usagef("--file-size %s: must be 4K to 4M", formatSize(f.fileSize))
	}
	if c.Dir != "" {
		if fi, err := os.Stat(c.Dir); err != nil || !fi.IsDir() {
			return usagef("--dir %s: not an existing directory", c.Dir)
		}
	}
	d, err := parseDesign(f.design)
	if err != nil {
		return err
	}
	c.Design = d
	rules, err := swapdev.ParseFaultRules(f.faults...)
	if err != nil {
		return usagef("--faults: %v", err)
	}
	if c.Fixes, err = f.fixes.set(); err != nil {
		return err
	}
	if err := checkDesignFixes(c.Fixes, c.Design); err != nil {
		return err
	}
	need := f.ram + 64*mib
	if c.Device == "ram" {
		need += 2 * f.swapSize
	}
	if err := checkRAM("ram", formatSize(f.ram), need, "the machine (--ram) and its two RAM swap devices (--swap-size)"); err != nil {
		return err
	}
	c.Faults = rules
	c.Seed, c.Frames, c.Limit, c.SwapPages, c.Pages, c.FilePages = uint64(f.seed), int(frames), limit, uint64(swap), int(mapPages), int(filePages)
	return checkJSONFlag(f.jsonOut)
}

func runStress(cmd *cobra.Command, f *stressFlags) error {
	if err := f.check(); err != nil {
		return err
	}
	cfg := f.cfg
	ctx := cmd.Context()
	if cfg.Device == "file" {
		dir, err := os.MkdirTemp(cfg.Dir, "uswap-stress-")
		if err != nil {
			return fmt.Errorf("stress: %w", err)
		}
		defer os.RemoveAll(dir)
		defer onForcedStop(ctx, func() { os.RemoveAll(dir) })()
		cfg.Dir = dir
	}
	out := cmd.OutOrStdout()
	text := !jsonOnly(f.jsonOut)
	if text {
		cfg.Progress = out
		fmt.Fprintf(out, "uswap stress --seed %d --design %s: %d tasks, RAM %s, limit %s, 2 %s devices of %s, faults %v, fixes %s\n",
			f.seed, cfg.Design, cfg.Tasks, formatSize(f.ram), formatSize(f.limit), cfg.Device, formatSize(f.swapSize), f.faults, cfg.Fixes)
	}
	cfg.Context = ctx
	rep, err := stress.Run(cfg)
	if err != nil {
		return err
	}
	if text {
		fmt.Fprint(out, rep.String())
	}
	if err := emitJSON(out, f.jsonOut, "stress", stressJSON(rep)); err != nil {
		return err
	}
	if !rep.Clean() {
		return failedf("stress: %d violations, %d lost or corrupted pages; replay with --seed %d --design %s", len(rep.Violations), rep.Corrupted, f.seed, cfg.Design)
	}
	if rep.Interrupted {
		return errInterrupted
	}
	return nil
}

// stressJSON is stress's --json output.
func stressJSON(r *stress.Report) any {
	type faults struct {
		ReadErrors  uint64 `json:"read_errors"`
		WriteErrors uint64 `json:"write_errors"`
		Delays      uint64 `json:"delays"`
	}
	type outcomes struct {
		SIGBUS        int64 `json:"sigbus"`
		LostByDevice  int64 `json:"lost_by_device"`
		ShmemLost     int64 `json:"shmem_lost"`
		EOFSIGBUS     int64 `json:"eof_sigbus"`
		OOM           int64 `json:"oom"`
		SwapoffFailed int64 `json:"swapoff_failed"`
		LimitRefused  int64 `json:"limit_refused"`
	}
	return struct {
		Seed        uint64           `json:"seed"`
		Design      string           `json:"design"`
		Ops         map[string]int64 `json:"ops"`
		OpsTotal    int64            `json:"ops_total"`
		Seconds     float64          `json:"seconds"`
		PgFault     uint64           `json:"pgfault"`
		PgMajFault  uint64           `json:"pgmajfault"`
		SwapIns     uint64           `json:"pswpin"`
		SwapOuts    uint64           `json:"pswpout"`
		Faults      faults           `json:"faults_injected"`
		Outcomes    outcomes         `json:"outcomes"`
		Checkpoints int              `json:"checkpoints_audited"`
		Corrupted   int64            `json:"corrupted"`
		Violations  []string         `json:"violations"`
		Interrupted bool             `json:"interrupted,omitempty"`
	}{
		r.Seed, r.Design.String(), r.OpCounts(), r.OpsTotal(), r.Elapsed.Round(time.Millisecond).Seconds(), r.PgFault, r.PgMajFault, r.SwapIns, r.SwapOuts,
		faults{r.Faults.ReadErrors, r.Faults.WriteErrors, r.Faults.Delays},
		outcomes{r.Bus, r.LostByDevice, r.ShmemLost, r.EOFBus, r.OOM, r.SwapoffFail, r.LimitFail},
		r.Checkpoints, r.Corrupted, r.Violations.Strings(), r.Interrupted,
	}
}
