// Package recipes is the agent's side of the organisation's signed fix
// recipes: the pinned organisation key, and the recipes the hub sent that
// the key signed.
//
// The key is pinned at install or enrollment (KeyFile in the state
// directory, which only root can write). The hub cannot change it: a key
// change must be a document signed by the pinned key with a serial above
// every one applied before, or the machine's administrator pins another
// key locally (PinKey, `tierline-agent recipe-key set`).
//
// Every recipe is verified against the pinned key before it is kept,
// listed or run, and again each time it is looked up to run. A recipe
// older than one this device has accepted, or the same version with
// other content, is refused, so a hub cannot replay an old recipe.
package recipes

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tierline/tierline/agent/fsutil"
	"github.com/tierline/tierline/shared/orgdoc"
	"github.com/tierline/tierline/shared/recipe"
	"github.com/tierline/tierline/shared/software"
	"github.com/tierline/tierline/shared/wire"
)

// Files in the state directory.
const (
	KeyFile     = "recipe-key.json"
	RecipesFile = "recipes.json"
)

// Pin is the pinned organisation key as KeyFile holds it.
type Pin struct {
	Key string `json:"key"` // base64
	// Serial is the highest key change applied (0: none).
	Serial int64     `json:"serial"`
	SetBy  string    `json:"set_by"` // enrollment, local, key-change
	SetAt  time.Time `json:"set_at"`
}

// ReadPin reads the pinned key; ok false when none is pinned.
func ReadPin(dir string) (Pin, ed25519.PublicKey, bool, error) {
	raw, err := os.ReadFile(filepath.Join(dir, KeyFile))
	if errors.Is(err, os.ErrNotExist) {
		return Pin{}, nil, false, nil
	}
	if err != nil {
		return Pin{}, nil, false, err
	}
	var p Pin
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Pin{}, nil, false, fmt.Errorf("%s is damaged: %w", filepath.Join(dir, KeyFile), err)
	}
	pub, err := orgdoc.ParsePublicKey(p.Key)
	if err != nil {
		return Pin{}, nil, false, fmt.Errorf("%s: %w", filepath.Join(dir, KeyFile), err)
	}
	return p, pub, true, nil
}

// PinKey pins pub as the organisation key. how says who pinned it
// (enrollment, local). The serial of key changes applied so far is kept,
// so an old change cannot be replayed after a local re-pin.
func PinKey(dir string, pub ed25519.PublicKey, how string, now time.Time) error {
	old, _, _, err := ReadPin(dir)
	if err != nil && how != "local" {
		return err
	}
	return writePin(dir, Pin{Key: orgdoc.EncodePublicKey(pub), Serial: old.Serial, SetBy: how, SetAt: now.UTC()})
}

func writePin(dir string, p Pin) error {
	raw, _ := json.MarshalIndent(p, "", "  ")
	return fsutil.WriteAtomic(filepath.Join(dir, KeyFile), append(raw, '\n'), 0o600)
}

// saved is RecipesFile.
type saved struct {
	// Seen is the highest version accepted of each recipe id, kept after
	// a recipe is withdrawn so it cannot come back older.
	Seen    map[string]int64 `json:"seen"`
	Docs    []orgdoc.Signed  `json:"docs"`
	Refused []wire.RecipeRef `json:"refused,omitempty"`
}

// entry is one accepted document: a recipe, or a software catalog
// entry (sw set; its id shares the recipes' namespace).
type entry struct {
	r   recipe.Recipe
	sw  *software.Entry
	doc orgdoc.Signed
}

// Store holds the accepted recipes of one state directory.
type Store struct {
	dir string
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	seen    map[string]int64
	active  map[string]entry
	refused []wire.RecipeRef
	// saved is what RecipesFile holds, so an unchanged set (the usual
	// case at each reconnection) is not written again.
	saved []byte
}

// Open loads the recipes kept in dir, verifying each again against the
// pinned key (one pinned locally since is honoured at once).
func Open(dir string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{dir: dir, log: log, now: time.Now, seen: map[string]int64{}, active: map[string]entry{}}
	raw, err := os.ReadFile(filepath.Join(dir, RecipesFile))
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	var sv saved
	s.saved = raw
	if err := json.Unmarshal(raw, &sv); err != nil {
		// The recipes come again from the hub; the versions seen are lost,
		// which the log says.
		log.Error("recipes file is damaged; starting without recipes", "file", filepath.Join(dir, RecipesFile), "err", err)
		return s, nil
	}
	if sv.Seen != nil {
		s.seen = sv.Seen
	}
	s.refused = sv.Refused
	_, pub, _, err := ReadPin(dir)
	if err != nil {
		return nil, err
	}
	for _, d := range sv.Docs {
		e, err := open(d, pub)
		if err != nil {
			log.Warn("dropping a kept document that the pinned key does not verify", "err", err)
			continue
		}
		s.active[e.id()] = e
	}
	return s, nil
}

// Apply takes the hub's Recipes: key changes first, then the documents.
// The accepted set replaces the one before. It returns the report for the
// hub; every refusal carries its reason, and is logged.
func (s *Store) Apply(msg wire.Recipes) wire.RecipeStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st wire.RecipeStatus
	pin, pub, _, err := ReadPin(s.dir)
	if err != nil {
		s.log.Error("reading the pinned recipe key failed; refusing every recipe", "err", err)
	}
	for _, d := range msg.KeyChanges {
		np, nk, why := s.keyChange(pin, pub, d)
		if why != "" {
			// An already applied change, sent again, is not news.
			if np.Serial != -1 {
				st.Refused = append(st.Refused, wire.RecipeRef{ID: "key-change", Reason: wire.Clip(why, wire.MaxRecipeRefusal-4)})
				s.log.Warn("refused a recipe key change", "reason", why)
			}
			continue
		}
		if err := writePin(s.dir, np); err != nil {
			st.Refused = append(st.Refused, wire.RecipeRef{ID: "key-change", Reason: "could not save the new key: " + err.Error()})
			continue
		}
		s.log.Info("recipe key changed by a key change signed with the old key", "from", orgdoc.KeyID(pub), "to", orgdoc.KeyID(nk), "serial", np.Serial)
		pin, pub = np, nk
	}
	if pub != nil {
		st.Key = orgdoc.KeyID(pub)
	}
	active := map[string]entry{}
	for _, d := range msg.Docs {
		r, why := s.admit(d, pub, active)
		if why != "" {
			st.Refused = append(st.Refused, wire.RecipeRef{ID: r.id(), Version: r.version(), Reason: wire.Clip(why, wire.MaxRecipeRefusal-4)})
			s.log.Warn("refused a signed document", "kind", d.Kind, "id", r.id(), "version", r.version(), "reason", why)
			continue
		}
		active[r.id()] = r
		if r.version() > s.seen[r.id()] {
			s.seen[r.id()] = r.version()
		}
		st.Accepted = append(st.Accepted, wire.RecipeRef{ID: r.id(), Version: r.version()})
	}
	s.active, s.refused = active, st.Refused
	if err := s.save(); err != nil {
		s.log.Error("saving the accepted recipes failed; they are used until the agent stops", "err", err)
	}
	return st
}

// keyChange checks one signed key change against the pinned key. A
// Serial of -1 in the returned pin marks a change already applied.
func (s *Store) keyChange(pin Pin, pub ed25519.PublicKey, d orgdoc.Signed) (Pin, ed25519.PublicKey, string) {
	if pub != nil && d.Key != orgdoc.KeyID(pub) {
		// Signed by another key: an old change (applied, or for another
		// chain), or a forgery. Either way it changes nothing here.
		var kc orgdoc.KeyChange
		if d.DecodeBody(orgdoc.KindKeyChange, &kc) == nil && kc.Serial <= pin.Serial {
			return Pin{Serial: -1}, nil, "already applied"
		}
	}
	if err := d.Verify(pub); err != nil {
		return Pin{}, nil, "key change refused: " + err.Error()
	}
	var kc orgdoc.KeyChange
	if err := d.DecodeBody(orgdoc.KindKeyChange, &kc); err != nil {
		return Pin{}, nil, "key change refused: " + err.Error()
	}
	if err := kc.Validate(); err != nil {
		return Pin{}, nil, err.Error()
	}
	if kc.Serial <= pin.Serial {
		return Pin{}, nil, fmt.Sprintf("key change refused: serial %d is not above %d, the last change applied here (a replay)", kc.Serial, pin.Serial)
	}
	nk, _ := orgdoc.ParsePublicKey(kc.New)
	return Pin{Key: kc.New, Serial: kc.Serial, SetBy: "key-change", SetAt: s.now().UTC()}, nk, ""
}

func (e entry) id() string {
	if e.sw != nil {
		return e.sw.ID
	}
	return e.r.ID
}

func (e entry) version() int64 {
	if e.sw != nil {
		return e.sw.Version
	}
	return e.r.Version
}

func (e entry) what() string {
	if e.sw != nil {
		return "software entry"
	}
	return "recipe"
}

// open verifies a recipe or a software entry against pub.
func open(d orgdoc.Signed, pub ed25519.PublicKey) (entry, error) {
	if err := d.Verify(pub); err != nil {
		return parse(d), err
	}
	return parseChecked(d)
}

func parseChecked(d orgdoc.Signed) (entry, error) {
	if d.Kind == orgdoc.KindSoftware {
		e, err := software.Parse(d)
		if err != nil {
			return entry{sw: &software.Entry{ID: wire.Clip(e.ID, 60), Version: e.Version}, doc: d}, err
		}
		return entry{sw: &e, doc: d}, nil
	}
	r, err := recipe.Parse(d)
	if err != nil {
		return entry{r: recipe.Recipe{ID: wire.Clip(r.ID, 60), Version: r.Version}, doc: d}, err
	}
	return entry{r: r, doc: d}, nil
}

// parse reads what it can of an unverified document, for the id in a
// refusal; nothing of it is trusted.
func parse(d orgdoc.Signed) entry {
	e, _ := parseChecked(d)
	if e.sw != nil {
		e.sw = &software.Entry{ID: wire.Clip(e.sw.ID, 60), Version: e.sw.Version}
	} else {
		e.r = recipe.Recipe{ID: wire.Clip(e.r.ID, 60), Version: e.r.Version}
	}
	return e
}

// admit verifies one recipe or software entry; it returns what could be
// read of it and why it is refused, or "".
func (s *Store) admit(d orgdoc.Signed, pub ed25519.PublicKey, active map[string]entry) (entry, string) {
	r, err := open(d, pub)
	if err != nil {
		return r, err.Error()
	}
	id, ver := r.id(), r.version()
	if _, dup := active[id]; dup {
		return r, fmt.Sprintf("%s %s was sent twice; the first copy is used", r.what(), id)
	}
	if seen := s.seen[id]; ver < seen {
		return r, fmt.Sprintf("%s %s version %d is older than version %d, which this device has accepted (a replay of an old version)", r.what(), id, ver, seen)
	}
	if old, ok := s.active[id]; ok && old.version() == ver && !bytes.Equal(old.doc.Body, d.Body) {
		return r, fmt.Sprintf("%s %s version %d differs from the version %d this device accepted; a changed %s needs a new version", r.what(), id, ver, ver, r.what())
	}
	return r, ""
}

func (s *Store) save() error {
	sv := saved{Seen: s.seen, Docs: []orgdoc.Signed{}, Refused: s.refused}
	ids := make([]string, 0, len(s.active))
	for id := range s.active {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		sv.Docs = append(sv.Docs, s.active[id].doc)
	}
	raw, err := json.Marshal(sv)
	if err != nil {
		return err
	}
	if bytes.Equal(raw, s.saved) {
		return nil
	}
	if err := fsutil.WriteAtomic(filepath.Join(s.dir, RecipesFile), raw, 0o600); err != nil {
		return err
	}
	s.saved = raw
	return nil
}

// Get returns an accepted recipe, verified once more against the key
// pinned now.
func (s *Store) Get(id string) (recipe.Recipe, bool) {
	s.mu.Lock()
	e, ok := s.active[id]
	s.mu.Unlock()
	if !ok || e.sw != nil {
		return recipe.Recipe{}, false
	}
	_, pub, _, err := ReadPin(s.dir)
	if err != nil {
		return recipe.Recipe{}, false
	}
	r, err := recipe.Open(e.doc, pub)
	if err != nil {
		s.log.Warn("a kept recipe no longer verifies against the pinned key; not running it", "recipe", id, "err", err)
		return recipe.Recipe{}, false
	}
	return r, true
}

// List returns the accepted recipes by id.
func (s *Store) List() []recipe.Recipe {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]recipe.Recipe, 0, len(s.active))
	for _, e := range s.active {
		if e.sw == nil {
			out = append(out, e.r)
		}
	}
	slices.SortFunc(out, func(a, b recipe.Recipe) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Signed is an accepted recipe and the id of the key that signed it.
type Signed struct {
	Recipe recipe.Recipe
	Signer string
}

// Accepted returns the accepted recipes by id, with their signers.
func (s *Store) Accepted() []Signed {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Signed, 0, len(s.active))
	for _, e := range s.active {
		if e.sw == nil {
			out = append(out, Signed{Recipe: e.r, Signer: e.doc.Key})
		}
	}
	slices.SortFunc(out, func(a, b Signed) int { return strings.Compare(a.Recipe.ID, b.Recipe.ID) })
	return out
}

// Software returns an accepted software catalog entry, verified once
// more against the key pinned now.
func (s *Store) Software(id string) (software.Entry, bool) {
	s.mu.Lock()
	e, ok := s.active[id]
	s.mu.Unlock()
	if !ok || e.sw == nil {
		return software.Entry{}, false
	}
	_, pub, _, err := ReadPin(s.dir)
	if err != nil {
		return software.Entry{}, false
	}
	sw, err := software.Open(e.doc, pub)
	if err != nil {
		s.log.Warn("a kept software entry no longer verifies against the pinned key; not installing it", "entry", id, "err", err)
		return software.Entry{}, false
	}
	return sw, true
}

// SoftwareList returns the accepted software catalog entries by id.
func (s *Store) SoftwareList() []software.Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []software.Entry{}
	for _, e := range s.active {
		if e.sw != nil {
			out = append(out, *e.sw)
		}
	}
	slices.SortFunc(out, func(a, b software.Entry) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Refused returns the refusals of the last Apply.
func (s *Store) Refused() []wire.RecipeRef {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.refused)
}

// NoKey is what PinAtEnrollment says when no key is pinned.
const NoKey = "none (this agent runs no recipes until one is pinned)"

// ParseKeyArg reads a public key given on the command line: the key's
// base64 text itself, or the path of a file holding it.
func ParseKeyArg(arg string) (ed25519.PublicKey, error) {
	if pub, err := orgdoc.ParsePublicKey(arg); err == nil {
		return pub, nil
	}
	return orgdoc.ReadPublicKey(arg)
}

// PinAtEnrollment pins the organisation key an enrollment names: flagKey
// (--recipe-key, the administrator's word) or else the token's. A key
// already pinned in dir is kept: the hub's token cannot replace it, and a
// different key from the token is refused with what to do instead. It
// returns the key id pinned, or NoKey.
func PinAtEnrollment(dir, flagKey, tokenKey string, now time.Time) (string, error) {
	_, cur, pinned, err := ReadPin(dir)
	if err != nil {
		return "", err
	}
	var want ed25519.PublicKey
	switch {
	case flagKey != "":
		if want, err = ParseKeyArg(flagKey); err != nil {
			return "", fmt.Errorf("--recipe-key: %w", err)
		}
		if tokenKey != "" {
			if tk, err := orgdoc.ParsePublicKey(tokenKey); err != nil || !tk.Equal(want) {
				return "", fmt.Errorf("the token names recipe key %s but --recipe-key is %s; make a token with the right --recipe-key, or leave the flag out",
					keyID(tk), orgdoc.KeyID(want))
			}
		}
	case tokenKey != "":
		if want, err = orgdoc.ParsePublicKey(tokenKey); err != nil {
			return "", fmt.Errorf("the token's recipe key: %w", err)
		}
	default:
		if pinned {
			return orgdoc.KeyID(cur), nil
		}
		return NoKey, nil
	}
	if pinned {
		if cur.Equal(want) {
			return orgdoc.KeyID(cur), nil
		}
		if flagKey == "" {
			return "", fmt.Errorf("this device already pins recipe key %s and the token names %s; a hub's token cannot change it "+
				"(as root: tierline-agent recipe-key set --state %s FILE)", orgdoc.KeyID(cur), orgdoc.KeyID(want), dir)
		}
	}
	how := "enrollment"
	if flagKey != "" {
		how = "local"
	}
	if err := PinKey(dir, want, how, now); err != nil {
		return "", err
	}
	return orgdoc.KeyID(want), nil
}

func keyID(pub ed25519.PublicKey) string {
	if len(pub) != ed25519.PublicKeySize {
		return "(invalid)"
	}
	return orgdoc.KeyID(pub)
}

// CheckEnrollmentKey tells, before enrolling, whether PinAtEnrollment
// would refuse these keys.
func CheckEnrollmentKey(dir, flagKey, tokenKey string) error {
	tmp, err := os.MkdirTemp("", "tierline-pin-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if raw, err := os.ReadFile(filepath.Join(dir, KeyFile)); err == nil {
		if err := os.WriteFile(filepath.Join(tmp, KeyFile), raw, 0o600); err != nil {
			return err
		}
	}
	if _, err = PinAtEnrollment(tmp, flagKey, tokenKey, time.Now()); err != nil {
		return errors.New(strings.ReplaceAll(err.Error(), tmp, dir))
	}
	return nil
}
