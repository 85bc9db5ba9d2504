package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/updates"
)

// releaseAdd stores a signed agent release: the manifest, its signature and
// the binary written by `go run ./scripts/release sign`.
func releaseAdd(ctx context.Context, args []string, io IO) error {
	fs := flagSet("release add", io)
	sf := addStoreFlags(fs)
	manifest := fs.String("manifest", "", "release manifest (NAME.manifest.json from scripts/release sign)")
	sig := fs.String("signature", "", "its signature (default: the manifest path with .sig instead of .json)")
	bin := fs.String("binary", "", "the agent binary the manifest describes")
	st, err := sf.parseAndOpen(ctx, fs, args, 0)
	if err != nil {
		return err
	}
	defer st.Close()
	if *manifest == "" || *bin == "" {
		return errors.New("--manifest and --binary are required (make them with `go run ./scripts/release sign`)")
	}
	if *sig == "" {
		*sig = strings.TrimSuffix(*manifest, ".json") + ".sig"
	}
	m, err := os.ReadFile(*manifest)
	if err != nil {
		return err
	}
	s, err := os.ReadFile(*sig)
	if err != nil {
		return fmt.Errorf("%w (pass --signature)", err)
	}
	b, err := os.ReadFile(*bin)
	if err != nil {
		return err
	}
	rel, err := updates.PrepareRelease(m, string(s), b, time.Now())
	if err != nil {
		return err
	}
	if err := st.AddRelease(ctx, rel, b); err != nil {
		return err
	}
	_ = st.AppendAudit(ctx, store.AuditEvent{Time: time.Now(), Actor: "cli", Action: "release.add",
		Target: rel.Version + " " + rel.OS + "/" + rel.Arch, Outcome: "ok", Detail: map[string]any{"sha256": rel.SHA256}})
	fmt.Fprintf(io.Stdout, "release %s for %s/%s added (sha256 %s, %d bytes)\nroll it out with: tierline-hub rollout set --group default --version %s --percent 10\n",
		rel.Version, rel.OS, rel.Arch, rel.SHA256, rel.Size, rel.Version)
	return nil
}

func releaseList(ctx context.Context, args []string, io IO) error {
	fs := flagSet("release list", io)
	sf := addStoreFlags(fs)
	st, err := sf.parseAndOpen(ctx, fs, args, 0)
	if err != nil {
		return err
	}
	defer st.Close()
	rs, err := st.ListReleases(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(io.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tOS/ARCH\tSIZE\tSHA256\tADDED")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s/%s\t%d\t%s\t%s\n", r.Version, r.OS, r.Arch, r.Size, r.SHA256, r.CreatedAt.Local().Format(time.DateTime))
	}
	return tw.Flush()
}

// rolloutSet chooses the version a device group runs, for a percent of it.
func rolloutSet(ctx context.Context, args []string, io IO) error {
	fs := flagSet("rollout set", io)
	sf := addStoreFlags(fs)
	group := fs.String("group", store.DefaultGroup, "device group (\"default\": devices without a group)")
	version := fs.String("version", "", "release version the group should run")
	percent := fs.Int("percent", 100, "percent of the group in this wave (raise it to widen the rollout)")
	st, err := sf.parseAndOpen(ctx, fs, args, 0)
	if err != nil {
		return err
	}
	defer st.Close()
	if *version == "" {
		return errors.New("--version is required (see `tierline-hub release list`)")
	}
	ro := store.Rollout{Group: *group, Version: *version, Percent: *percent, UpdatedAt: time.Now(), UpdatedBy: "cli"}
	if err := st.SetRollout(ctx, ro); err != nil {
		return err
	}
	_ = st.AppendAudit(ctx, store.AuditEvent{Time: time.Now(), Actor: "cli", Action: "rollout.set", Target: *group,
		Outcome: "ok", Detail: map[string]any{"version": *version, "percent": *percent}})
	fmt.Fprintf(io.Stdout, "group %s: rolling out %s to %d%% of its devices\n", *group, *version, *percent)
	return nil
}

func rolloutStop(ctx context.Context, args []string, io IO) error {
	fs := flagSet("rollout stop", io)
	sf := addStoreFlags(fs)
	st, err := sf.parseAndOpen(ctx, fs, args, 1)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.DeleteRollout(ctx, fs.Arg(0)); err != nil {
		return err
	}
	fmt.Fprintf(io.Stdout, "group %s: rollout stopped (devices keep the version they run)\n", fs.Arg(0))
	return nil
}

// rolloutList shows each rollout's progress.
func rolloutList(ctx context.Context, args []string, io IO) error {
	fs := flagSet("rollout list", io)
	sf := addStoreFlags(fs)
	st, err := sf.parseAndOpen(ctx, fs, args, 0)
	if err != nil {
		return err
	}
	defer st.Close()
	ps, err := st.RolloutProgress(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(io.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tVERSION\tWAVE\tON TARGET\tVERSIONS\tOUTCOMES")
	for _, p := range ps {
		fmt.Fprintf(tw, "%s\t%s\t%d%%\t%d/%d\t%s\t%s\n", p.Group, p.Version, p.Percent, p.OnTarget, p.Devices, counts(p.Versions), counts(p.Outcomes))
	}
	return tw.Flush()
}

func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		name := k
		if name == "" {
			name = "?"
		}
		parts = append(parts, fmt.Sprintf("%s=%d", name, m[k]))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}
