package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/spf13/cobra"

	"uswap/realmem"
	"uswap/serve"
	"uswap/uffd"
)

// serve: the daemon that pages other processes' memory (package serve,
// docs/serve.md).

func init() { addCommand(newServeCmd) }

func newServeCmd() *cobra.Command {
	var (
		socket, device, comp, swapDir, jsonOut string
		maxSize                                int64
		maxRegions, workers                    int
		quiet                                  bool
	)
	cmd := &cobra.Command{
		Use:   "serve --socket PATH",
		Short: "page other processes' memory: a daemon that takes a userfaultfd and a memfd over a Unix socket",
		Long: `Run the daemon that pages the memory of other processes, in any language.
A process maps a memfd shared, opens a userfaultfd, and sends both to the
daemon over the SOCK_SEQPACKET socket PATH (SCM_RIGHTS) with the region's
address, size and budget, as JSON (protocol version 1, docs/serve.md);
clients/c/uswap.h is a C client. The daemon pages each region with uswap's
pager (package realmem): at most its budget resident, the rest on a device
of the daemon's (--device) until the process asks it to stop or its
connection closes (the process exited, or died): then it frees what the
region held and goes on serving the others. A request it cannot take gets
an error reply that names the problem, and harms nothing else.

PATH must not exist; the daemon removes it when it stops. It runs until
SIGINT or SIGTERM, then unregisters every region and prints what it did
(exit status 130).

Exit status: 130 stopped by a signal after a clean shutdown, 2 a bad flag,
3 any other error (userfaultfd missing, the socket not created).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if socket == "" {
				return usagef("--socket is required: the path of the socket to listen on")
			}
			if _, err := os.Lstat(socket); err == nil {
				return usagef("--socket %s exists; remove it (a daemon that died leaves it) or choose another path", socket)
			}
			switch device {
			case "ram":
			case "file":
				if st, err := os.Stat(swapDir); err != nil || !st.IsDir() {
					return usagef("--device file needs --swap-dir, an existing directory (%s: %v)", swapDir, err)
				}
			default:
				return usagef("--device %q: want ram or file", device)
			}
			if swapDir != "" && device != "file" {
				return usagef("--swap-dir goes with --device file")
			}
			switch comp {
			case "lz4", "zstd":
			default:
				return usagef("--comp %q: uswap's RAM device offers lz4 and zstd", comp)
			}
			if maxSize < 64*kib || maxSize%pageSize != 0 {
				return usagef("--max-size %s: want a whole number of 4 KiB pages, at least 64K", formatSize(maxSize))
			}
			if maxRegions < 1 || maxRegions > 4096 {
				return usagef("--max-regions %d: want 1 to 4096", maxRegions)
			}
			if workers < 1 || workers > 64 {
				return usagef("--workers %d: want 1 to 64", workers)
			}
			if err := checkJSONFlag(jsonOut); err != nil {
				return err
			}
			if err := uffd.Available(realmem.Features); err != nil {
				return fmt.Errorf("serve needs userfaultfd with shmem and write-protect support: %w", err)
			}
			logw := io.Writer(cmd.ErrOrStderr())
			if quiet {
				logw = io.Discard
			}
			srv, err := serve.Listen(serve.Config{
				Socket: socket, Device: device, Comp: comp, SwapDir: swapDir,
				MaxRegionBytes: uint64(maxSize), MaxRegions: maxRegions, Workers: workers,
				Log: log.New(logw, "uswap serve: ", log.LstdFlags),
			})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if !jsonOnly(jsonOut) {
				fmt.Fprintf(out, "uswap serve: listening on %s (protocol version %d, device %s)\n", socket, serve.Version, device)
			}
			serr := srv.Serve(cmd.Context())
			tot := srv.Totals()
			if !jsonOnly(jsonOut) {
				fmt.Fprintf(out, "uswap serve: stopped: %d regions registered, %d requests refused\n", tot.Registered, tot.Refused)
			}
			if err := emitJSON(out, jsonOut, "serve", struct {
				Socket string `json:"socket"`
				serve.Totals
				Interrupted bool `json:"interrupted,omitempty"`
			}{socket, tot, cmd.Context().Err() != nil}); err != nil {
				return errors.Join(serr, err)
			}
			if serr != nil {
				return serr
			}
			return interrupted(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&socket, "socket", "", "the socket to listen on (`path`; it must not exist)")
	f.StringVar(&device, "device", "ram", "where swapped-out pages go: ram (compressed) or file (a swap file per region in --swap-dir)")
	f.StringVar(&comp, "comp", "lz4", "the RAM device's compressor: lz4 or zstd")
	f.StringVar(&swapDir, "swap-dir", "", "the `directory` for swap files, with --device file")
	sizeFlag(f, &maxSize, "max-size", "", 1<<40, "the largest region a client may register")
	f.IntVar(&maxRegions, "max-regions", 64, "regions paged at once, at most")
	f.IntVar(&workers, "workers", 2, "fault-handling goroutines per region")
	f.BoolVar(&quiet, "quiet", false, "do not log each connection on standard error")
	addJSONFlag(cmd, &jsonOut)
	return cmd
}
