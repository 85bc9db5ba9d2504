// Package recipes is the hub's side of the organisation's signed fix
// recipes: it checks uploaded documents (form only: the hub holds no key
// and trusts nothing it stores; agents verify the signature against the
// key they pin), picks the recipes published to a device's group, and says
// what each device made of them. See docs/recipes.md.
package recipes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/orgdoc"
	"github.com/tierline/tierline/shared/recipe"
	"github.com/tierline/tierline/shared/software"
	"github.com/tierline/tierline/shared/wire"
)

// AllGroups publishes a recipe to every device group.
const AllGroups = "*"

// Upload is a checked signed document ready to store: a recipe or a key
// change.
type Upload struct {
	Kind      string
	Recipe    *store.Recipe
	KeyChange *store.RecipeKeyChange
}

// Prepare checks a signed document (as `tierline-hub recipe sign` or
// `recipe rotate` wrote it) and the groups to publish a recipe to.
func Prepare(raw []byte, groups []string, by string, now time.Time) (Upload, error) {
	doc, err := orgdoc.Decode(raw)
	if err != nil {
		return Upload{}, err
	}
	canon, err := doc.Encode()
	if err != nil {
		return Upload{}, err
	}
	switch doc.Kind {
	case orgdoc.KindRecipe, orgdoc.KindSoftware:
		var r recipe.Recipe
		if doc.Kind == orgdoc.KindSoftware {
			e, err := software.Parse(doc)
			if err != nil {
				return Upload{}, err
			}
			r = recipe.Recipe{ID: e.ID, Version: e.Version, Title: e.Title, Tier: 0}
		} else if r, err = recipe.Parse(doc); err != nil {
			return Upload{}, err
		}
		if len(groups) == 0 {
			return Upload{}, fmt.Errorf("name the device groups to publish the %s to (\"*\" for every group)", doc.Kind)
		}
		if len(groups) > 64 {
			return Upload{}, errors.New("at most 64 groups")
		}
		for _, g := range groups {
			if g == AllGroups {
				continue
			}
			if err := store.ValidateGroup(g); err != nil {
				return Upload{}, fmt.Errorf("group %q: %w", wire.Clip(g, 64), err)
			}
		}
		slices.Sort(groups)
		groups = slices.Compact(groups)
		return Upload{Kind: doc.Kind, Recipe: &store.Recipe{ID: r.ID, Version: r.Version, Signer: doc.Key, Title: r.Title, Tier: r.Tier,
			Doc: canon, Groups: groups, AddedBy: by, AddedAt: now}}, nil
	case orgdoc.KindKeyChange:
		var kc orgdoc.KeyChange
		if err := doc.DecodeBody(orgdoc.KindKeyChange, &kc); err != nil {
			return Upload{}, err
		}
		if err := kc.Validate(); err != nil {
			return Upload{}, err
		}
		return Upload{Kind: doc.Kind, KeyChange: &store.RecipeKeyChange{Serial: kc.Serial, Doc: canon, AddedBy: by, AddedAt: now}}, nil
	}
	return Upload{}, fmt.Errorf("documents of kind %s cannot be published", doc.Kind)
}

// Published reports whether r is published to group ("" is the default
// group).
func Published(r store.Recipe, group string) bool {
	if group == "" {
		group = store.DefaultGroup
	}
	return slices.Contains(r.Groups, AllGroups) || slices.Contains(r.Groups, group)
}

// Message is what a device of group is sent: its group's recipes (at most
// wire.MaxRecipes, by id) and every key change, oldest first.
func Message(all []store.Recipe, changes []store.RecipeKeyChange, group string) wire.Recipes {
	msg := wire.Recipes{Docs: []orgdoc.Signed{}}
	for _, r := range all {
		if !Published(r, group) || len(msg.Docs) >= wire.MaxRecipes {
			continue
		}
		if doc, err := orgdoc.Decode(r.Doc); err == nil {
			msg.Docs = append(msg.Docs, doc)
		}
	}
	if len(changes) > wire.MaxKeyChanges {
		changes = changes[len(changes)-wire.MaxKeyChanges:]
	}
	for _, k := range changes {
		if doc, err := orgdoc.Decode(k.Doc); err == nil {
			msg.KeyChanges = append(msg.KeyChanges, doc)
		}
	}
	return msg
}

// Parsed returns the recipe inside a stored document (an error for a
// software entry).
func Parsed(r store.Recipe) (recipe.Recipe, error) {
	doc, err := orgdoc.Decode(r.Doc)
	if err != nil {
		return recipe.Recipe{}, err
	}
	return recipe.Parse(doc)
}

// ParsedSoftware returns the software catalog entry inside a stored
// document; ok is false when it is another kind.
func ParsedSoftware(r store.Recipe) (software.Entry, bool, error) {
	doc, err := orgdoc.Decode(r.Doc)
	if err != nil {
		return software.Entry{}, false, err
	}
	if doc.Kind != orgdoc.KindSoftware {
		return software.Entry{}, false, nil
	}
	e, err := software.Parse(doc)
	return e, true, err
}

// Status decodes a device's stored report; ok false when it never sent one.
func Status(st store.RecipeStatus, found bool) (wire.RecipeStatus, bool) {
	var s wire.RecipeStatus
	if !found || json.Unmarshal(st.Status, &s) != nil {
		return wire.RecipeStatus{}, false
	}
	return s, true
}

// Accepted reports whether the device's agent accepted version of id.
func Accepted(s wire.RecipeStatus, id string, version int64) bool {
	return slices.ContainsFunc(s.Accepted, func(r wire.RecipeRef) bool { return r.ID == id && r.Version == version })
}

// RefusalOf is the agent's reason for refusing id, or "".
func RefusalOf(s wire.RecipeStatus, id string) string {
	for _, r := range s.Refused {
		if r.ID == id {
			return r.Reason
		}
	}
	return ""
}

// PublishStore is what Publish writes to.
type PublishStore interface {
	PutRecipe(ctx context.Context, r store.Recipe) error
	AddRecipeKeyChange(ctx context.Context, k store.RecipeKeyChange) error
	AppendAudit(ctx context.Context, e store.AuditEvent) error
}

// Publish checks a signed document and stores it: a recipe for groups
// (audited recipe.publish), or a key change (recipe.key_change). Agents
// connected to any replica get it within a few seconds.
func Publish(ctx context.Context, st PublishStore, raw []byte, groups []string, by string, now time.Time) (Upload, error) {
	up, err := Prepare(raw, groups, by, now)
	if err != nil {
		return up, &RefusedError{Err: err}
	}
	if up.Recipe != nil {
		r := up.Recipe
		if err := st.PutRecipe(ctx, *r); err != nil {
			return up, err
		}
		_ = st.AppendAudit(ctx, store.AuditEvent{Time: now, Actor: by, Action: "recipe.publish", Target: r.ID, Outcome: "ok",
			Detail: map[string]any{"version": r.Version, "signer": r.Signer, "groups": r.Groups, "tier": r.Tier}})
		return up, nil
	}
	k := up.KeyChange
	if err := st.AddRecipeKeyChange(ctx, *k); err != nil {
		return up, err
	}
	_ = st.AppendAudit(ctx, store.AuditEvent{Time: now, Actor: by, Action: "recipe.key_change", Target: fmt.Sprint(k.Serial), Outcome: "ok"})
	return up, nil
}

// RefusedError is a document or groups Publish refused (a bad request, not
// a store failure).
type RefusedError struct{ Err error }

func (e *RefusedError) Error() string { return e.Err.Error() }
func (e *RefusedError) Unwrap() error { return e.Err }

// View is a published recipe with what the devices made of it: how many
// agents accepted this version, and which refused it and why.
type View struct {
	store.Recipe
	// Kind is recipe or software; Document is set for a recipe,
	// Software for a software catalog entry.
	Kind     string          `json:"kind"`
	Document *recipe.Recipe  `json:"document,omitempty"`
	Software *software.Entry `json:"software,omitempty"`
	Accepted int             `json:"accepted"`
	Failing  []Refusal       `json:"failing"`
	// Error: the stored document no longer parses (it is not sent).
	Error string `json:"error,omitempty"`
}

// Refusal is one device's refusal of a recipe.
type Refusal struct {
	Device   string `json:"device"`
	Hostname string `json:"hostname,omitempty"`
	Reason   string `json:"reason"`
}

// DeviceLister names devices for Views.
type DeviceLister interface {
	ListDevices(ctx context.Context, opt store.ListDevicesOptions) ([]store.Device, error)
}

// Views joins the published recipes with the devices' reports. Devices
// are looked up by name only when some refused a recipe.
func Views(ctx context.Context, rs []store.Recipe, sts map[string]store.RecipeStatus, devs DeviceLister) ([]View, error) {
	out := views(rs, sts)
	failing := false
	for _, v := range out {
		failing = failing || len(v.Failing) > 0
	}
	if !failing {
		return out, nil
	}
	ds, err := devs.ListDevices(ctx, store.ListDevicesOptions{})
	if err != nil {
		return nil, err
	}
	hosts := map[string]string{}
	for _, d := range ds {
		hosts[d.ID] = d.Hostname
	}
	for _, v := range out {
		for i := range v.Failing {
			v.Failing[i].Hostname = hosts[v.Failing[i].Device]
		}
	}
	return out, nil
}

func views(rs []store.Recipe, sts map[string]store.RecipeStatus) []View {
	ids := make([]string, 0, len(sts))
	for id := range sts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := []View{}
	for _, sr := range rs {
		v := View{Recipe: sr, Kind: orgdoc.KindRecipe, Failing: []Refusal{}}
		if e, isSW, err := ParsedSoftware(sr); isSW {
			v.Kind = orgdoc.KindSoftware
			if err != nil {
				v.Error = err.Error()
			} else {
				v.Software = &e
			}
		} else if p, err := Parsed(sr); err != nil {
			v.Error = err.Error()
		} else {
			v.Document = &p
		}
		for _, id := range ids {
			s, ok := Status(sts[id], true)
			switch {
			case !ok:
			case Accepted(s, sr.ID, sr.Version):
				v.Accepted++
			default:
				if why := RefusalOf(s, sr.ID); why != "" {
					v.Failing = append(v.Failing, Refusal{Device: id, Reason: why})
				}
			}
		}
		out = append(out, v)
	}
	return out
}
