package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// uswap version: the module version and the VCS revision the binary was
// built from (runtime/debug.ReadBuildInfo).

func init() { addCommand(newVersionCmd) }

// buildVersion is what the build info says of this binary.
type buildVersion struct {
	Module    string `json:"module"`
	Version   string `json:"version"`
	Revision  string `json:"vcs_revision"`
	Time      string `json:"vcs_time"`
	Modified  bool   `json:"vcs_modified"`
	GoVersion string `json:"go_version"`
}

func readBuildVersion() buildVersion {
	var v buildVersion
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return buildVersion{Module: "uswap", Version: "(unknown: no build info)"}
	}
	v.Module, v.Version, v.GoVersion = bi.Main.Path, bi.Main.Version, bi.GoVersion
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

func newVersionCmd() *cobra.Command {
	var jsonOut string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "print the module version and the VCS revision of this binary",
		Long: `Print the module version and the VCS revision this binary was built from,
as the Go build info records them (go build in a git checkout stamps the
revision; go run and go test do not, and say "unknown").`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkJSONFlag(jsonOut); err != nil {
				return err
			}
			v := readBuildVersion()
			out := cmd.OutOrStdout()
			if err := emitJSON(out, jsonOut, "version", v); err != nil || jsonOnly(jsonOut) {
				return err
			}
			rev := v.Revision
			if rev == "" {
				rev = "unknown"
			}
			if v.Modified {
				rev += " (modified)"
			}
			fmt.Fprintf(out, "%s %s\nrevision %s %s\n%s\n", v.Module, v.Version, rev, v.Time, v.GoVersion)
			return nil
		},
	}
	addJSONFlag(cmd, &jsonOut)
	return cmd
}
