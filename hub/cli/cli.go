// Package cli is tierline-hub's command line: serve, and the admin verbs
// that work on the same --data or --db as a running hub.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/tierline/tierline/hub/api"
	"github.com/tierline/tierline/hub/auth"
	"github.com/tierline/tierline/hub/gateway"
	"github.com/tierline/tierline/hub/notify"
	"github.com/tierline/tierline/hub/pki"
	"github.com/tierline/tierline/hub/server"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/hub/vendors"
	"github.com/tierline/tierline/shared/logging"
	"github.com/tierline/tierline/shared/orgdoc"
	"github.com/tierline/tierline/shared/wire"
)

// Version is set at build time with -ldflags.
var Version = "dev"

// IO is where a command reads and writes.
type IO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

type command struct {
	name, usage string
	run         func(ctx context.Context, args []string, io IO) error
}

func commands() []command {
	return []command{
		{"serve", "run the hub", serve},
		{"token create", "print a new enrollment token", tokenCreate},
		{"token list", "list enrollment tokens", tokenList},
		{"token revoke", "revoke an enrollment token: token revoke [flags] ID", tokenRevoke},
		{"user add", "add a console user (password asked in a terminal, else read from stdin)", userAdd},
		{"user list", "list console users", userList},
		{"user reset-2fa", "remove a user's second factor (a lost authenticator): user reset-2fa --name N", userReset2FA},
		{"apitoken create", "print a new API bearer token for a user", apitokenCreate},
		{"apitoken revoke", "revoke an API token: apitoken revoke [flags] ID", apitokenRevoke},
		{"device list", "list enrolled devices", deviceList},
		{"device revoke", "revoke a device and cut its connection: device revoke [flags] ID", deviceRevoke},
		{"device group", "put a device in a group (rollouts, batch runs): device group [flags] ID GROUP", deviceGroup},
		{"device site", "move a device (and its open tickets) to a site: device site [flags] ID SITE", deviceSite},
		{"user sites", "set the sites a user works: user sites [flags] NAME A,B (or '*': every site)", userSites},
		{"release add", "store a signed agent release (manifest, signature, binary)", releaseAdd},
		{"release list", "list stored agent releases", releaseList},
		{"rollout set", "roll a release out to a device group, in waves (--percent)", rolloutSet},
		{"rollout list", "show each group's rollout and its progress", rolloutList},
		{"rollout stop", "stop rolling out to a group: rollout stop [flags] GROUP", rolloutStop},
		{"vendor add", "add a Tier 4 vendor (webhook secret on stdin with --secret-stdin)", vendorAdd},
		{"vendor list", "list Tier 4 vendors", vendorList},
		{"vendor disable", "disable a vendor: vendor disable [flags] ID|NAME", vendorDisable},
		{"recipe keygen", "make the organisation's recipe signing key offline: recipe keygen --out DIR", recipeKeygen},
		{"recipe sign", "sign a recipe with that key: recipe sign --key K FILE", recipeSign},
		{"recipe rotate", "sign a change to a new key with the old one: recipe rotate --key OLD --new-key NEW.pub --serial N", recipeRotate},
		{"recipe add", "publish a signed recipe (or key change) to device groups: recipe add --groups G1,G2 FILE", recipeAdd},
		{"recipe list", "list published recipes", recipeList},
		{"version", "print the version", func(_ context.Context, _ []string, io IO) error { fmt.Fprintln(io.Stdout, Version); return nil }},
	}
}

// errUsage marks an error already explained with usage text.
var errUsage = errors.New("usage")

// Main runs the command line and returns the exit status.
func Main(args []string, io IO) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmds := commands()
	for _, c := range cmds {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			err := c.run(ctx, args[len(words):], io)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
				return 2
			default:
				fmt.Fprintf(io.Stderr, "tierline-hub %s: %v\n", c.name, err)
				return 1
			}
		}
	}
	if len(args) > 0 && args[0] != "help" && args[0] != "-h" && args[0] != "--help" {
		fmt.Fprintf(io.Stderr, "tierline-hub: unknown command %q\n\n", strings.Join(args, " "))
	}
	fmt.Fprintln(io.Stderr, "Usage: tierline-hub COMMAND [flags] [args]\n\nCommands:")
	tw := tabwriter.NewWriter(io.Stderr, 0, 0, 2, ' ', 0)
	for _, c := range cmds {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.usage)
	}
	tw.Flush()
	fmt.Fprintln(io.Stderr, "\nRun `tierline-hub COMMAND -h` for a command's flags. Flags go before positional arguments.")
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		return 0
	}
	return 2
}

// flagSet makes a FlagSet whose flags also read TIERLINE_* variables.
func flagSet(name string, io IO) *flag.FlagSet {
	fs := flag.NewFlagSet("tierline-hub "+name, flag.ContinueOnError)
	fs.SetOutput(io.Stderr)
	return fs
}

// parse parses args, filling unset flags from TIERLINE_<FLAG> variables.
func parse(fs *flag.FlagSet, args []string, positional int) error {
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		env := "TIERLINE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok && !set[f.Name] {
			if err := f.Value.Set(v); err != nil && envErr == nil {
				envErr = fmt.Errorf("%s=%q: %w", env, v, err)
			}
		}
	})
	if envErr != nil {
		return envErr
	}
	if fs.NArg() != positional {
		if positional == 0 {
			fmt.Fprintf(fs.Output(), "unexpected arguments: %q (flags go before arguments)\n", fs.Args())
		} else {
			fmt.Fprintf(fs.Output(), "expected %d argument(s), got %d\n", positional, fs.NArg())
		}
		fs.Usage()
		return errUsage
	}
	return nil
}

type storeFlags struct{ data, db *string }

func addStoreFlags(fs *flag.FlagSet) storeFlags {
	return storeFlags{
		data: fs.String("data", "", "hub data directory (CA, certificates, embedded database) [TIERLINE_DATA]"),
		db:   fs.String("db", "", "PostgreSQL URL (postgres://...) instead of the embedded SQLite database in --data [TIERLINE_DB]"),
	}
}

// open opens the store of an existing hub; it creates nothing.
func (s storeFlags) open(ctx context.Context) (*store.Store, error) {
	return server.OpenExistingStore(ctx, *s.data, *s.db)
}

// parseAndOpen parses an admin verb's flags and opens the store they name.
func (s storeFlags) parseAndOpen(ctx context.Context, fs *flag.FlagSet, args []string, positional int) (*store.Store, error) {
	if err := parse(fs, args, positional); err != nil {
		return nil, err
	}
	return s.open(ctx)
}

func serve(ctx context.Context, args []string, io IO) error {
	fs := flagSet("serve", io)
	sf := addStoreFlags(fs)
	listen := fs.String("listen", "127.0.0.1:8443", "address to listen on [TIERLINE_LISTEN]")
	urlFlag := fs.String("url", "", "URL agents use to reach this hub (default from --listen) [TIERLINE_URL]")
	cert := fs.String("tls-cert", "", "TLS certificate chain (PEM) instead of the hub's own CA [TIERLINE_TLS_CERT]")
	key := fs.String("tls-key", "", "TLS key (PEM) for --tls-cert [TIERLINE_TLS_KEY]")
	tiers := fs.String("tier-limits", "1=15m,2=4h,3=2d", "per-tier SLA time limits, tier=duration,... [TIERLINE_TIER_LIMITS]")
	respLimits := fs.String("response-limits", "", "per-tier response limits, tier=duration,...: time to a technician's first response in a tier (default none) [TIERLINE_RESPONSE_LIMITS]")
	smtpAddr := fs.String("smtp-addr", "", "mail server host:port for vendor email, STARTTLS when offered (default: no email) [TIERLINE_SMTP_ADDR]")
	smtpFrom := fs.String("smtp-from", "", "sender address of vendor email [TIERLINE_SMTP_FROM]")
	smtpUser := fs.String("smtp-user", "", "mail server user name, if it needs a login [TIERLINE_SMTP_USER]")
	smtpPassFile := fs.String("smtp-password-file", "", "file holding the mail server password [TIERLINE_SMTP_PASSWORD_FILE]")
	deflection := fs.Duration("deflection-window", 72*time.Hour, "how long a device must not come back (another Get help session or a ticket) after a session fixed its problem for the session to count as deflected [TIERLINE_DEFLECTION_WINDOW]")
	budgets := fs.String("device-budgets", "", "per-device budgets of agent messages, TYPE=COUNT/DURATION,... (a burst of COUNT, then one every DURATION/COUNT; off for none), changing the defaults "+gateway.DescribeBudgets()+"; a device over one is refused, counted in tierline_agent_budget_refusals_total and logged [TIERLINE_DEVICE_BUDGETS]")
	vendorRetry := fs.Duration("vendor-retry", 30*time.Second, "first wait before a failed vendor delivery is tried again; doubles up to 30m [TIERLINE_VENDOR_RETRY]")
	notifyLimit := fs.String("notify-limit", "30/1h", "at most this many notification emails, and as many webhook calls, per technician in this time; more wait for room [TIERLINE_NOTIFY_LIMIT]")
	notifyOffline := fs.Duration("notify-offline-after", 10*time.Minute, "how long a device must be gone before technicians watching its group are told it is offline [TIERLINE_NOTIFY_OFFLINE_AFTER]")
	hours := fs.String("business-hours", "", "count SLA time only in these hours, e.g. \"mon-fri 09:00-17:00 Europe/Berlin\" (default: all hours) [TIERLINE_BUSINESS_HOURS]")
	sessionIdle := fs.Duration("session-idle", 30*time.Minute, "end a console session after this long without a request [TIERLINE_SESSION_IDLE]")
	rawRet := fs.Duration("raw-retention", 24*time.Hour, "keep raw telemetry this long [TIERLINE_RAW_RETENTION]")
	rollRet := fs.Duration("rollup-retention", 30*24*time.Hour, "keep telemetry rollups this long [TIERLINE_ROLLUP_RETENTION]")
	retentionEvery := fs.Duration("retention-every", 10*time.Minute, "how often old telemetry is rolled up and deleted [TIERLINE_RETENTION_EVERY]")
	replicaLease := fs.Duration("replica-lease", 15*time.Second, "with --db, how long this replica counts as alive after renewing its lease (every third of it); the others mark its devices offline once it lapses [TIERLINE_REPLICA_LEASE]")
	readyMinFree := fs.Uint64("ready-min-free-mib", server.DefaultReadyMinFree>>20, "with the embedded store, /readyz answers 503 when the data directory's disk has less than this many MiB free (0: only when it is full) [TIERLINE_READY_MIN_FREE_MIB]")
	mf := addMailFlags(fs)
	ssof := addSSOFlags(fs)
	pprofListen := fs.String("pprof-listen", "", "serve Go's profiles (/debug/pprof/) on this loopback address, e.g. 127.0.0.1:6060 (default: off) [TIERLINE_PPROF_LISTEN]")
	healthListen := fs.String("health-listen", "", "serve /healthz, /readyz and /metrics in plain HTTP on this address too, outside the queue of new connections, for a balancer's health checks and Prometheus during reconnect storms, e.g. 10.0.0.11:8444 (default: off) [TIERLINE_HEALTH_LISTEN]")
	level := fs.String("log-level", "info", "debug, info, warn or error [TIERLINE_LOG_LEVEL]")
	format := fs.String("log-format", "text", "text or json [TIERLINE_LOG_FORMAT]")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	limits, err := ParseTierLimits(*tiers)
	if err != nil {
		return err
	}
	resp, err := tickets.ParseLimits(*respLimits)
	if err != nil {
		return fmt.Errorf("--response-limits: %w", err)
	}
	deviceBudgets, err := gateway.ParseBudgets(*budgets)
	if err != nil {
		return fmt.Errorf("--device-budgets: %w", err)
	}
	if *deflection <= 0 {
		return fmt.Errorf("--deflection-window %s: give a positive time, such as 72h", *deflection)
	}
	smtpCfg := vendors.SMTPConfig{Addr: *smtpAddr, From: *smtpFrom, User: *smtpUser}
	if *smtpAddr == "" && (*smtpFrom != "" || *smtpUser != "" || *smtpPassFile != "") {
		return errors.New("--smtp-from, --smtp-user and --smtp-password-file need --smtp-addr host:port")
	}
	if *smtpAddr != "" && *smtpFrom == "" {
		return errors.New("--smtp-addr needs --smtp-from: the address vendor email comes from")
	}
	if *smtpPassFile != "" {
		b, err := os.ReadFile(*smtpPassFile)
		if err != nil {
			return fmt.Errorf("--smtp-password-file: %w", err)
		}
		smtpCfg.Password = strings.TrimRight(string(b), "\r\n")
	}
	if (*smtpUser == "") != (smtpCfg.Password == "") {
		return errors.New("--smtp-user and --smtp-password-file go together")
	}
	mailCfg, err := mf.config(*smtpAddr)
	if err != nil {
		return err
	}
	nLimit, nWindow, err := notify.ParseLimit(*notifyLimit)
	if err != nil {
		return fmt.Errorf("--notify-limit: %w", err)
	}
	if *retentionEvery <= 0 || *replicaLease < time.Second {
		return fmt.Errorf("--retention-every %s and --replica-lease %s: give positive times, the lease at least 1s", *retentionEvery, *replicaLease)
	}
	if *notifyOffline <= 0 {
		return fmt.Errorf("--notify-offline-after %s: give a positive time, such as 10m", *notifyOffline)
	}
	ssoCfg, err := ssof.config()
	if err != nil {
		return err
	}
	var bh *tickets.BusinessHours
	if *hours != "" {
		if bh, err = tickets.ParseBusinessHours(*hours); err != nil {
			return fmt.Errorf("--business-hours: %w", err)
		}
	}
	log, err := logging.New(io.Stderr, *level, *format)
	if err != nil {
		return err
	}
	return server.Run(ctx, server.Config{
		DataDir: *sf.data, DB: *sf.db, Listen: *listen, URL: *urlFlag, TLSCert: *cert, TLSKey: *key,
		TierLimits: limits, ResponseLimits: resp, SMTP: smtpCfg, VendorRetry: *vendorRetry, BusinessHours: bh, RawRetention: *rawRet, RollupRetention: *rollRet, Logger: log, Out: io.Stdout,
		SessionIdle: *sessionIdle, Mail: mailCfg, DeflectionWindow: *deflection, SSO: ssoCfg, PprofListen: *pprofListen, HealthListen: *healthListen,
		DeviceBudgets: deviceBudgets, ReadyMinFree: max(*readyMinFree<<20, 1),
		NotifyLimit: nLimit, NotifyWindow: nWindow, NotifyOfflineAfter: *notifyOffline,
		RetentionEvery: *retentionEvery, ReplicaLease: *replicaLease,
	})
}

// ParseTierLimits parses "1=15m,2=4h,3=2d" (d is accepted as 24h).
func ParseTierLimits(s string) (map[int]time.Duration, error) {
	m, err := tickets.ParseLimits(s)
	if err != nil {
		return nil, fmt.Errorf("--tier-limits: %w", err)
	}
	return m, nil
}

func tokenCreate(ctx context.Context, args []string, io IO) error {
	fs := flagSet("token create", io)
	sf := addStoreFlags(fs)
	expires := fs.String("expires", "24h", "how long the token is valid")
	uses := fs.Int("uses", 1, "how many devices may enroll with it")
	note := fs.String("note", "", "what the token is for")
	urlFlag := fs.String("url", "", "hub URL to put in the token (default: the URL the hub serves) [TIERLINE_URL]")
	recipeKey := fs.String("recipe-key", "", "the organisation's recipe public key file (recipe keygen's .pub) for agents to pin at enrollment [TIERLINE_RECIPE_KEY]")
	site := fs.String("site", store.DefaultSite, "site of the devices that enroll with it")
	st, err := sf.parseAndOpen(ctx, fs, args, 0)
	if err != nil {
		return err
	}
	defer st.Close()
	hubURL := *urlFlag
	if hubURL == "" {
		v, ok, err := st.GetSetting(ctx, "hub.url")
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("the hub's URL is not known yet: start `tierline-hub serve` once with this --data, or pass --url")
		}
		hubURL = v
	}
	ca, err := pki.LoadCA(*sf.data)
	if err != nil {
		return err
	}
	t, secret, err := api.NewToken(time.Now(), *expires, *uses, *note, "cli")
	if err != nil {
		return err
	}
	if t.Site = *site; store.ValidateSite(t.Site) != nil {
		return fmt.Errorf("--site: %w", store.ValidateSite(t.Site))
	}
	tok := wire.EnrollToken{HubURL: hubURL, CAFingerprint: pki.Fingerprint(ca), Secret: secret}
	if *recipeKey != "" {
		pub, err := orgdoc.ReadPublicKey(*recipeKey)
		if err != nil {
			return err
		}
		tok.RecipeKey = orgdoc.EncodePublicKey(pub)
	}
	enc := tok.Encode()
	if _, err := wire.ParseEnrollToken(enc); err != nil {
		return fmt.Errorf("token would not be accepted by agents: %w", err)
	}
	if err := st.CreateToken(ctx, t, auth.HashSecret(secret)); err != nil {
		return err
	}
	_ = st.AppendAudit(ctx, store.AuditEvent{Time: time.Now(), Actor: "cli", Action: "token.create", Target: t.ID, Outcome: "ok",
		Detail: map[string]any{"uses": t.MaxUses, "expires_at": t.ExpiresAt, "site": t.Site}})
	fmt.Fprintln(io.Stdout, enc)
	fmt.Fprintf(io.Stderr, "token %s: %d use(s), site %s, expires %s\n", t.ID, t.MaxUses, t.Site, t.ExpiresAt.Format(time.RFC3339))
	return nil
}

func tokenList(ctx context.Context, args []string, io IO) error {
	fs := flagSet("token list", io)
	sf := addStoreFlags(fs)
	st, err := sf.parseAndOpen(ctx, fs, args, 0)
	if err != nil {
		return err
	}
	defer st.Close()
	ts, err := st.ListTokens(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(io.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSES\tEXPIRES\tSTATE\tNOTE")
	now := time.Now()
	for _, t := range ts {
		state := "valid"
		switch {
		case t.RevokedAt != nil:
			state = "revoked"
		case now.After(t.ExpiresAt):
			state = "expired"
		case t.Uses >= t.MaxUses:
			state = "used up"
		}
		fmt.Fprintf(tw, "%s\t%d/%d\t%s\t%s\t%s\n", t.ID, t.Uses, t.MaxUses, t.ExpiresAt.Local().Format(time.DateTime), state, t.Note)
	}
	return tw.Flush()
}

func tokenRevoke(ctx context.Context, args []string, io IO) error {
	fs := flagSet("token revoke", io)
	sf := addStoreFlags(fs)
	st, err := sf.parseAndOpen(ctx, fs, args, 1)
	if err != nil {
		return err
	}
	defer st.Close()
	id := fs.Arg(0)
	if err := st.RevokeToken(ctx, id, time.Now()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no enrollment token %q (see `tierline-hub token list`)", id)
		}
		return err
	}
	_ = st.AppendAudit(ctx, store.AuditEvent{Time: time.Now(), Actor: "cli", Action: "token.revoke", Target: id, Outcome: "ok"})
	fmt.Fprintf(io.Stdout, "token %s revoked\n", id)
	return nil
}

func userAdd(ctx context.Context, args []string, io IO) error {
	fs := flagSet("user add", io)
	sf := addStoreFlags(fs)
	name := fs.String("name", "", "user name")
	role := fs.String("role", "", "tier1, tier2, tier3 or admin")
	forSSO := fs.Bool("sso", false, "a user who logs in only by single sign-on: no password; their first sign-on with this name ties it to them")
	sitesFlag := fs.String("sites", "", "the sites the user works, A,B (default: every site)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	sites, err := store.ParseSites(*sitesFlag)
	if err != nil {
		return fmt.Errorf("--sites: %w", err)
	}
	if !api.ValidUserName(*name) {
		return errors.New("--name is required: 1-64 letters, digits, '.', '_', '-' or '@'")
	}
	if !store.Role(*role).Valid() {
		return fmt.Errorf("--role %q: use tier1, tier2, tier3 or admin", *role)
	}
	// The store first: a wrong --data is said before a password is asked.
	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	var hash string
	if !*forSSO {
		password, err := readPassword(io, *name)
		if err != nil {
			return err
		}
		if hash, err = auth.HashPassword(password); err != nil {
			return err
		}
	}
	u := store.User{ID: wire.NewID(), Name: *name, Role: store.Role(*role), PasswordHash: hash, CreatedAt: time.Now(), Sites: sites}
	if err := st.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrExists) {
			return fmt.Errorf("a user named %q already exists", *name)
		}
		return err
	}
	_ = st.AppendAudit(ctx, store.AuditEvent{Time: time.Now(), Actor: "cli", Action: "user.create", Target: u.Name, Outcome: "ok",
		Detail: map[string]any{"role": u.Role, "sso": *forSSO, "sites": siteWords(u.Sites)}})
	fmt.Fprintf(io.Stdout, "user %s added with role %s, %s\n", u.Name, u.Role, siteWords(u.Sites))
	return nil
}

func userList(ctx context.Context, args []string, io IO) error {
	fs := flagSet("user list", io)
	sf := addStoreFlags(fs)
	st, err := sf.parseAndOpen(ctx, fs, args, 0)
	if err != nil {
		return err
	}
	defer st.Close()
	us, err := st.ListUsers(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(io.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tCREATED")
	for _, u := range us {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Name, u.Role, u.CreatedAt.Local().Format(time.DateTime))
	}
	return tw.Flush()
}

func apitokenCreate(ctx context.Context, args []string, io IO) error {
	fs := flagSet("apitoken create", io)
	sf := addStoreFlags(fs)
	user := fs.String("user", "", "user the token acts as")
	expires := fs.Duration("expires", 90*24*time.Hour, "how long the token is valid")
	note := fs.String("note", "", "what the token is for")
	readOnly := fs.Bool("read-only", false, "a token that may only read (GET); every change is refused")
	sitesFlag := fs.String("sites", "", "narrow the token to these of its user's sites, A,B (default: the user's sites)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	sites, err := store.ParseSites(*sitesFlag)
	if err != nil {
		return fmt.Errorf("--sites: %w", err)
	}
	if *user == "" {
		return errors.New("--user is required")
	}
	if *expires <= 0 {
		return errors.New("--expires must be positive")
	}
	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.GetUserByName(ctx, *user)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no user %q (add one with `tierline-hub user add`)", *user)
	}
	if err != nil {
		return err
	}
	now := time.Now()
	t, secret := api.NewAPIToken(u.ID, *note, now, *expires)
	t.ReadOnly, t.Sites = *readOnly, sites
	if err := st.CreateAPIToken(ctx, t, auth.HashSecret(secret)); err != nil {
		return err
	}
	_ = st.AppendAudit(ctx, store.AuditEvent{Time: now, Actor: "cli", Action: "apitoken.create", Target: t.ID, Outcome: "ok",
		Detail: map[string]any{"user": u.Name, "read_only": t.ReadOnly, "sites": siteWords(store.NarrowSites(u.Sites, t.Sites))}})
	fmt.Fprintln(io.Stdout, secret)
	fmt.Fprintf(io.Stderr, "API token %s for %s (%s), expires %s\n", t.ID, u.Name, u.Role, t.ExpiresAt.Format(time.RFC3339))
	return nil
}

func apitokenRevoke(ctx context.Context, args []string, io IO) error {
	fs := flagSet("apitoken revoke", io)
	sf := addStoreFlags(fs)
	st, err := sf.parseAndOpen(ctx, fs, args, 1)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.RevokeAPIToken(ctx, fs.Arg(0), time.Now()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no API token %q", fs.Arg(0))
		}
		return err
	}
	_ = st.AppendAudit(ctx, store.AuditEvent{Time: time.Now(), Actor: "cli", Action: "apitoken.revoke", Target: fs.Arg(0), Outcome: "ok"})
	fmt.Fprintf(io.Stdout, "API token %s revoked\n", fs.Arg(0))
	return nil
}

func deviceList(ctx context.Context, args []string, io IO) error {
	fs := flagSet("device list", io)
	sf := addStoreFlags(fs)
	st, err := sf.parseAndOpen(ctx, fs, args, 0)
	if err != nil {
		return err
	}
	defer st.Close()
	ds, err := st.ListDevices(ctx, store.ListDevicesOptions{Revoked: true})
	if err != nil {
		return err
	}
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].Hostname < ds[j].Hostname })
	tw := tabwriter.NewWriter(io.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tHOSTNAME\tOS\tSTATE\tLAST SEEN")
	for _, d := range ds {
		state := "offline"
		if d.Online {
			state = "online"
		}
		if d.RevokedAt != nil {
			state = "revoked"
		}
		seen := "never"
		if d.LastSeen != nil {
			seen = d.LastSeen.Local().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.ID, d.Hostname, d.OS, state, seen)
	}
	return tw.Flush()
}

func deviceGroup(ctx context.Context, args []string, io IO) error {
	fs := flagSet("device group", io)
	sf := addStoreFlags(fs)
	if err := parse(fs, args, 2); err != nil {
		return err
	}
	id, group := fs.Arg(0), fs.Arg(1)
	if err := wire.ValidateDeviceID(id); err != nil {
		return fmt.Errorf("%q: %w (see `tierline-hub device list`)", id, err)
	}
	if err := store.ValidateGroup(group); err != nil {
		return fmt.Errorf("%q: %w", group, err)
	}
	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.SetDeviceGroup(ctx, id, group); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no device %s (see `tierline-hub device list`)", id)
		}
		return err
	}
	_ = st.AppendAudit(ctx, store.AuditEvent{Time: time.Now(), Actor: "cli", Action: "device.group", Target: id, Outcome: "ok",
		Detail: map[string]any{"group": group}})
	fmt.Fprintf(io.Stdout, "device %s is in group %s\n", id, group)
	return nil
}

func deviceRevoke(ctx context.Context, args []string, io IO) error {
	fs := flagSet("device revoke", io)
	sf := addStoreFlags(fs)
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	id := fs.Arg(0)
	if err := wire.ValidateDeviceID(id); err != nil {
		return fmt.Errorf("%q: %w (see `tierline-hub device list`)", id, err)
	}
	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.RevokeDevice(ctx, id, time.Now()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no device %s (see `tierline-hub device list`)", id)
		}
		return err
	}
	_ = st.AppendAudit(ctx, store.AuditEvent{Time: time.Now(), Actor: "cli", Action: "device.revoke", Target: id, Outcome: "ok"})
	fmt.Fprintf(io.Stdout, "device %s revoked; a running hub closes its connection within a second\n", id)
	return nil
}
