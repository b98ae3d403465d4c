package main

import (
	"github.com/spf13/cobra"

	"uswap/explore"
	"uswap/fixes"
)

// Shell completion (cobra's `uswap completion bash|zsh|fish|powershell`)
// of the names flags take. Each list is asked of the package that owns
// it, so it grows with it.

// completeWith completes a flag from list(), with "name\tdescription"
// entries; the shell filters by what was typed.
func completeWith(list func() []string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return list(), cobra.ShellCompDirectiveNoFileComp
	}
}

// words is a fixed list.
func words(w ...string) func() []string { return func() []string { return w } }

// scenarioNames are explore's scenarios, and all.
func scenarioNames() []string {
	names := []string{"all\tevery scenario in turn"}
	for _, s := range explore.Scenarios() {
		names = append(names, s.Name+"\t"+firstLine(s.Doc))
	}
	return names
}

// fixNames are the fixes --revert takes, with the race each closes.
func fixNames() []string {
	names := []string{"all\tevery fix"}
	for _, f := range fixes.All() {
		names = append(names, f.String()+"\t"+firstLine(f.Info().Race))
	}
	return names
}

// strategyNames are the strategies with their default parameters.
func strategyNames() []string {
	return []string{
		"random\ta uniform random walk",
		"walk:0.99\ta random walk that keeps the running task with probability P",
		"pct:3\tprobabilistic concurrency testing of depth D",
		"dfs:2\tevery schedule with at most B preemptions",
	}
}

// register attaches the completions of the flags cmd has.
func registerCompletions(cmd *cobra.Command) {
	for flag, list := range map[string]func() []string{
		"scenario": scenarioNames,
		"revert":   fixNames,
		"fix":      fixes.Completions,
		"strategy": strategyNames,
		"comp":     compressorNames,
		"engine":   words("uswap\tembedded, no root", "kernel\tthe Linux kernel's swap, needs root", "realmem\treal memory paged by uswap, needs userfaultfd"),
		"device":   words("ram\tcompressed RAM (zram)", "file\ta swap file"),
		"pattern":  words("mixed", "zero", "random"),
		"memcg-bg-reclaim": words("on\tuswap's background memcg reclaim (the default)", "off\treclaim in the charging task, as the kernel does",
			"both\tbench compare: every round runs uswap with it on and off"),
		"design": designCompletions,
	} {
		if cmd.Flags().Lookup(flag) != nil {
			_ = cmd.RegisterFlagCompletionFunc(flag, completeWith(list))
		}
	}
	for _, c := range cmd.Commands() {
		registerCompletions(c)
	}
}
