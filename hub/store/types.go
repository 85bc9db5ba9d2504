package store

import (
	"errors"
	"time"

	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// Errors callers tell apart with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	// Enrollment token refusals; each says what the admin should do.
	ErrTokenUnknown = errors.New("enrollment token is not known to this hub; create one with `tierline-hub token create`")
	ErrTokenExpired = errors.New("enrollment token has expired; create a new one with `tierline-hub token create`")
	ErrTokenUsedUp  = errors.New("enrollment token has been used up; create a new one with `tierline-hub token create`")
	ErrTokenRevoked = errors.New("enrollment token was revoked; create a new one with `tierline-hub token create`")
	// API token refusals.
	ErrAPITokenExpired = errors.New("API token has expired")
	ErrAPITokenRevoked = errors.New("API token was revoked")
)

// Role of a console user or API token owner.
type Role string

// Roles, from least to most privileged.
const (
	RoleTier1 Role = "tier1"
	RoleTier2 Role = "tier2"
	RoleTier3 Role = "tier3"
	RoleAdmin Role = "admin"
)

// Roles lists every role, least privileged first.
var Roles = []Role{RoleTier1, RoleTier2, RoleTier3, RoleAdmin}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	for _, k := range Roles {
		if r == k {
			return true
		}
	}
	return false
}

// Rank orders roles: tier1 = 1, tier2 = 2, tier3 = 3, admin = 4, unknown = 0.
func (r Role) Rank() int {
	for i, k := range Roles {
		if r == k {
			return i + 1
		}
	}
	return 0
}

// Token is an enrollment token. Its secret is stored only as a SHA-256 hash.
type Token struct {
	ID        string     `json:"id"`
	Note      string     `json:"note,omitempty"`
	CreatedBy string     `json:"created_by,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	MaxUses   int        `json:"max_uses"`
	Uses      int        `json:"uses"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// Site is the site of the devices the token enrolls (DefaultSite when
	// empty at creation).
	Site string `json:"site"`
}

// Device is an enrolled machine.
type Device struct {
	ID           string `json:"id"`
	PublicKey    []byte `json:"-"`
	Hostname     string `json:"hostname"`
	OS           string `json:"os"`
	Arch         string `json:"arch"`
	Platform     string `json:"platform,omitempty"`
	AgentVersion string `json:"agent_version"`
	Group        string `json:"group,omitempty"`
	// Site is the site the device belongs to (its enrollment token's,
	// until an admin moves it).
	Site string `json:"site"`
	// Fixes are the catalog fix ids the agent said it offers when it last
	// connected (its OS's fixes less what its local policy disables).
	Fixes      []string  `json:"fixes"`
	TokenID    string    `json:"token_id,omitempty"`
	EnrolledAt time.Time `json:"enrolled_at"`
	Online     bool      `json:"online"`
	// Replica is the hub replica holding the device's connection, when
	// several share a PostgreSQL database (empty on the embedded store).
	Replica   string     `json:"replica,omitempty"`
	LastSeen  *time.Time `json:"last_seen,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// LastSeq is the highest sequence number stored for this device.
	LastSeq      uint64 `json:"last_seq"`
	SpoolDropped uint64 `json:"spool_dropped"`
	// Summary of the latest telemetry sample, nil before the first.
	Summary  *diag.Summary `json:"summary,omitempty"`
	LatestAt *time.Time    `json:"latest_at,omitempty"`
	// Filled by GetDevice only (ListDevices leaves them empty).
	Latest    *diag.Sample       `json:"latest,omitempty"`
	Inventory *diag.Inventory    `json:"inventory,omitempty"`
	Health    []diag.CheckResult `json:"health,omitempty"`
}

// DeviceHello is what a device says about itself when it connects.
type DeviceHello struct {
	Hostname, OS, Arch, Platform, AgentVersion string
	SpoolDropped                               uint64
	// Fixes are the catalog fix ids the agent offers.
	Fixes []string
}

// ListDevicesOptions filters ListDevices. Zero values mean no filter.
type ListDevicesOptions struct {
	Online  *bool
	Group   string
	Limit   int  // 0: no limit
	Revoked bool // include revoked devices
}

// IngestKind says what an IngestItem carries.
type IngestKind string

// Ingest kinds.
const (
	KindTelemetry IngestKind = "telemetry"
	KindInventory IngestKind = "inventory"
	KindHealth    IngestKind = "health"
	KindRunResult IngestKind = "run_result"
	// KindRejected records that a sequence number was refused (bad body), so
	// it is acknowledged and never accepted later.
	KindRejected IngestKind = "rejected"
	// KindHandled records that a sequence number was taken by another part
	// of the hub (a help request filed as a ticket, say), so it is
	// acknowledged and a replay is a duplicate.
	KindHandled IngestKind = "handled"
)

// IngestItem is one sequenced agent message to store.
type IngestItem struct {
	DeviceID     string
	Seq          uint64
	Kind         IngestKind
	Received     time.Time
	Sample       *diag.Sample       // KindTelemetry
	Inventory    *diag.Inventory    // KindInventory
	Checks       []diag.CheckResult // KindHealth, or with KindTelemetry
	RunResult    *wire.RunResult    // KindRunResult
	SpoolDropped uint64
}

// IngestResult says what happened to one IngestItem.
type IngestResult struct {
	// Duplicate is true when Seq was at or below the device's LastSeq: the
	// item was stored before and was not applied again.
	Duplicate bool
	// Transitions are health check state changes this item caused.
	Transitions []CheckTransition
	// RunDone is the run this item's result finished, if any (a replayed
	// result of a finished run leaves it nil).
	RunDone *Run
	// Err is set when the item could not be applied (unknown device, missing
	// body, unknown kind); such an item had no effect and its Seq was not
	// recorded. The other items of the batch are applied regardless.
	Err error
}

// TelemetryPoint is a stored telemetry sample: a raw point (Count 1, Sample
// set when asked for) or a rollup bucket (Count > 1 averages, Max maxima).
type TelemetryPoint struct {
	Time    time.Time     `json:"time"`
	Seq     uint64        `json:"seq,omitempty"`
	Summary diag.Summary  `json:"summary"`
	Rollup  bool          `json:"rollup,omitempty"`
	Count   int           `json:"count"`
	Max     *diag.Summary `json:"max,omitempty"`
	Sample  *diag.Sample  `json:"sample,omitempty"`
}

// TelemetryQuery selects telemetry of one device.
type TelemetryQuery struct {
	DeviceID     string
	Since, Until time.Time // Until zero: now
	Limit        int       // 0: 10000
	WithSamples  bool      // include full raw samples
}

// CheckTransition is a change of a health check's status on a device.
type CheckTransition struct {
	DeviceID string      `json:"device_id"`
	Name     string      `json:"name"`
	From     diag.Status `json:"from"` // empty for the first result
	To       diag.Status `json:"to"`
	Time     time.Time   `json:"time"`
	Summary  string      `json:"summary"`
}

// PruneResult counts what a retention pass did.
type PruneResult struct {
	RolledUp       int64 // raw points folded into rollups
	RawDeleted     int64
	RollupsDeleted int64
}

// User is a console user.
type User struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	Role         Role       `json:"role"`
	PasswordHash string     `json:"-"` // argon2id, PHC string format
	CreatedAt    time.Time  `json:"created_at"`
	DisabledAt   *time.Time `json:"disabled_at,omitempty"`
	// Available: new tickets of the user's tier may be assigned to them
	// automatically; LastAssignedAt is when one last was.
	Available      bool       `json:"available"`
	LastAssignedAt *time.Time `json:"last_assigned_at,omitempty"`
	// Sites are the sites the user works; nil: every site.
	Sites []string `json:"sites"`
}

// APIToken is a bearer token for the API; stored only as a SHA-256 hash.
type APIToken struct {
	ID        string     `json:"id"`
	UserID    string     `json:"user_id"`
	Note      string     `json:"note,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	LastUsed  *time.Time `json:"last_used,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// ReadOnly tokens may only read (GET); LastAddress is where the token
	// was last used from.
	ReadOnly    bool   `json:"read_only"`
	LastAddress string `json:"last_address,omitempty"`
	// Sites narrow the token to these of its user's sites; nil: the
	// user's sites.
	Sites []string `json:"sites"`
}

// AuditEvent is one entry of the audit log. Action is a dotted
// resource.verb name (device.revoke, token.create, user.login).
type AuditEvent struct {
	ID      int64          `json:"id"`
	Time    time.Time      `json:"time"`
	Actor   string         `json:"actor"` // user name, "cli", "system" or "device:<id>"
	Action  string         `json:"action"`
	Target  string         `json:"target,omitempty"`
	Detail  map[string]any `json:"detail,omitempty"`
	Remote  string         `json:"remote,omitempty"`
	Outcome string         `json:"outcome,omitempty"` // ok, denied, failed
}

// AuditFilter selects audit events, newest first. Zero values: no filter.
type AuditFilter struct {
	Actor        string
	ActionPrefix string
	Target       string
	Since, Until time.Time
	Limit        int // 0: 100
	BeforeID     int64
}
