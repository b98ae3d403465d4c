package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"uswap/stress"
	"uswap/swapdev"
)

// uswap stress: many tasks doing a seeded random mix of operations with
// device faults injected, every load checked against a reference model
// and the audit run at checkpoints and at the end (package stress).

func init() { rootCmd.AddCommand(newStressCmd()) }

func newStressCmd() *cobra.Command {
	var (
		cfg    stress.Config
		faults []string
		seed   int64
		limit  int64
		pages  uint64
	)
	cmd := &cobra.Command{
		Use:   "stress",
		Short: "run many tasks doing a random mix of operations with injected device faults, checking every byte",
		Long: `Run --tasks tasks, each doing a seeded random mix of mmap, load, store,
fork, exit and munmap on its own address spaces, and of shmem operations
on its own files of up to --file-pages pages (create, write and read of
aligned and unaligned ranges, truncate, punch hole, delete, shared
mappings with loads and stores through them), for --ops operations or
for --duration, while a controller swaps the two swap devices off and on
and moves the cgroup limit. Every load and every read is checked against
a per-task reference model (bytes per address and per file offset); the
audit runs every --checkpoint operations (tasks quiesced) and at the end,
after everything exited and every file was deleted.

--faults RULE (repeatable) injects device faults, in swapdev's syntax:
OP[:key=value...] with OP read, write or rw and keys offset=N[,N...],
after=N, rate=P, times=N, delay=DURATION, and the flag nofail; e.g.
--faults read:rate=0.001 --faults write:rate=0.01.

SIGBUS on a page whose swap-in read failed (anonymous or shmem), SIGBUS
through a shared mapping past EOF, OOM, and a swapoff that runs out of
memory are counted outcomes;
a load that returns the wrong bytes, any other error or any audit finding
is a violation: the run then exits with status 1 and prints the seed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cfg.Tasks < 1 || cfg.Tasks > 256 {
				return usagef("stress: --tasks %d: must be 1 to 256", cfg.Tasks)
			}
			if cfg.Ops < 0 {
				return usagef("stress: --ops %d: must not be negative", cfg.Ops)
			}
			if cfg.Duration < 0 {
				return usagef("stress: --duration %v: must not be negative", cfg.Duration)
			}
			if cfg.Ops == 0 && cfg.Duration == 0 {
				return usagef("stress: give --ops or --duration")
			}
			if cfg.Frames <= 0 {
				return usagef("stress: --frames %d: a machine needs memory", cfg.Frames)
			}
			if limit < 0 || limit > int64(cfg.Frames) {
				return usagef("stress: --limit %d pages is not within the %d frames (--frames)", limit, cfg.Frames)
			}
			if cfg.Device != "ram" && cfg.Device != "file" {
				return usagef("stress: --device %q: want ram or file", cfg.Device)
			}
			if pages < 10 {
				return usagef("stress: --swap-pages %d: a swap device needs at least 10 pages", pages)
			}
			if cfg.Pages < 1 {
				return usagef("stress: --pages %d: must be at least 1", cfg.Pages)
			}
			if cfg.FilePages < 1 || cfg.FilePages > 1024 {
				return usagef("stress: --file-pages %d: must be 1 to 1024", cfg.FilePages)
			}
			if cfg.Checkpoint < 0 {
				return usagef("stress: --checkpoint %d: must not be negative", cfg.Checkpoint)
			}
			rules, err := swapdev.ParseFaultRules(faults...)
			if err != nil {
				return usagef("stress: --faults: %v", err)
			}
			cfg.Faults = append(cfg.Faults, rules...)
			cfg.Seed, cfg.Limit, cfg.SwapPages = uint64(seed), limit, pages
			out := cmd.OutOrStdout()
			cfg.Progress = out
			fmt.Fprintf(out, "uswap stress --seed %d: %d tasks, %d frames, limit %d, 2 %s devices of %d pages, faults %v\n",
				seed, cfg.Tasks, cfg.Frames, limit, cfg.Device, pages, faults)
			rep, err := stress.Run(cfg)
			if err != nil {
				return err
			}
			fmt.Fprint(out, rep.String())
			if !rep.Clean() {
				return fmt.Errorf("stress: %d violations; replay with --seed %d", len(rep.Violations), seed)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.Tasks, "tasks", 4, "tasks doing operations")
	f.Int64Var(&cfg.Ops, "ops", 0, "operations in all (0: run for --duration)")
	f.DurationVar(&cfg.Duration, "duration", 0, "how long to run (with --ops: whichever ends first)")
	f.Int64Var(&seed, "seed", 1, "seed of the operation mix and of the fault draws")
	f.StringArrayVar(&faults, "faults", nil, "device fault rule, repeatable (e.g. read:rate=0.001)")
	f.StringVar(&cfg.Device, "device", "ram", "swap device kind: ram or file")
	f.StringVar(&cfg.Dir, "dir", "", "directory of the swap files of --device file (default: a temporary one)")
	f.Int64Var(&limit, "limit", 512, "workload cgroup memory.max in pages (0: none)")
	f.IntVar(&cfg.Frames, "frames", 1024, "RAM in 4 KiB frames")
	f.Uint64Var(&pages, "swap-pages", 4096, "size of each of the two swap devices in pages")
	f.IntVar(&cfg.Pages, "pages", 128, "largest mapping a task makes, in pages")
	f.IntVar(&cfg.FilePages, "file-pages", 16, "largest shmem file a task makes, in pages")
	f.Int64Var(&cfg.Checkpoint, "checkpoint", 100000, "operations between audits (0: only at the end)")
	f.BoolVar(&cfg.NoController, "no-controller", false, "no swapoff/swapon cycles or limit changes")
	return cmd
}
