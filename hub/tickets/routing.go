package tickets

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// RoutingSetting is the settings key holding the routing rules as JSON.
const RoutingSetting = "tickets.routing"

// Rule routes a new ticket to a tier and queue. Every field that is set
// must match: Category the request's category, Check a failing check of
// the device, Signature all its failing checks exactly, Group the device's
// group. The first matching rule wins; none matching files to Tier 1.
type Rule struct {
	Name      string `json:"name"`
	Category  string `json:"category,omitempty"`
	Check     string `json:"check,omitempty"`
	Signature string `json:"signature,omitempty"`
	Group     string `json:"group,omitempty"`
	Tier      int    `json:"tier"`
	Queue     string `json:"queue,omitempty"`
}

// ParseRules decodes and validates routing rules.
func ParseRules(b []byte) ([]Rule, error) {
	var rules []Rule
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rules); err != nil {
		return nil, fmt.Errorf("routing rules: %w; write a JSON list of {name, category, check, signature, group, tier, queue}", err)
	}
	for i, r := range rules {
		if r.Name == "" {
			return nil, fmt.Errorf("routing rule %d: give it a name", i+1)
		}
		if r.Category == "" && r.Check == "" && r.Signature == "" && r.Group == "" {
			return nil, fmt.Errorf("routing rule %q matches everything; set category, check, signature or group", r.Name)
		}
		if r.Tier < 1 || r.Tier > TopTier {
			return nil, fmt.Errorf("routing rule %q: tier %d must be 1 to %d", r.Name, r.Tier, TopTier)
		}
	}
	return rules, nil
}

// Route returns the first rule matching a request.
func Route(rules []Rule, category, signature, group string) (Rule, bool) {
	failing := strings.Split(signature, ",")
	for _, r := range rules {
		if r.Category != "" && r.Category != category ||
			r.Signature != "" && r.Signature != signature ||
			r.Check != "" && (signature == "" || !slices.Contains(failing, r.Check)) ||
			r.Group != "" && r.Group != group {
			continue
		}
		return r, true
	}
	return Rule{}, false
}

// RoutingRules reads the routing rules from the settings.
func (s *Service) RoutingRules(ctx context.Context) ([]Rule, error) {
	v, ok, err := s.cfg.Store.GetSetting(ctx, RoutingSetting)
	if err != nil || !ok || strings.TrimSpace(v) == "" {
		return nil, err
	}
	return ParseRules([]byte(v))
}

// SetRoutingRules validates rules and stores them in the settings.
func (s *Service) SetRoutingRules(ctx context.Context, raw []byte) ([]Rule, error) {
	rules, err := ParseRules(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	b, err := json.Marshal(rules)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Store.PutSetting(ctx, RoutingSetting, string(b)); err != nil {
		return nil, fmt.Errorf("save routing rules: %w", err)
	}
	return rules, nil
}
