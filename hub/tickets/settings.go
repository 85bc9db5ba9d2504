package tickets

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// SLASettingKey is the setting holding the admin's SLA limits.
const SLASettingKey = "tickets.sla"

// SLASettings are the SLA limits an admin sets at run time. A nil field
// leaves the hub's configured default (its serve flags) in force.
type SLASettings struct {
	// TierLimits and ResponseLimits are per tier, and per tier and
	// priority where a priority needs its own: "1=15m,2=4h,3=2d,1/P1=5m";
	// "" for none.
	TierLimits     *string `json:"tier_limits"`
	ResponseLimits *string `json:"response_limits"`
	// BusinessHours is written as --business-hours takes it
	// ("mon-fri 09:00-17:00 Europe/Berlin"); "" counts all hours (24/7).
	BusinessHours *string `json:"business_hours"`
}

// BusinessHoursFormat is how business hours are written, for errors and
// hints.
const BusinessHoursFormat = `DAYS FROM-TO [ZONE], e.g. "mon-fri 09:00-17:00 Europe/Berlin"; "" counts all hours`

// SLAView is the SLA policy in force and where each part comes from.
type SLAView struct {
	TierLimits     string `json:"tier_limits"`
	ResponseLimits string `json:"response_limits"`
	// BusinessHours is "" when clocks count all hours.
	BusinessHours string `json:"business_hours"`
	// Limits are the same limits one row a tier (Priority 0) or a tier
	// and priority, for forms.
	Limits []SLALimit `json:"limits"`
	// Source says for each part whether it is the hub's default (flags)
	// or the admin's setting.
	TierLimitsSource     string `json:"tier_limits_source"`
	ResponseLimitsSource string `json:"response_limits_source"`
	BusinessHoursSource  string `json:"business_hours_source"`
}

// SLALimit is one row of the SLA limits: a tier's (Priority 0) or those of
// one priority in it; "" where it has none.
type SLALimit struct {
	Tier     int    `json:"tier"`
	Priority int    `json:"priority,omitempty"`
	Resolve  string `json:"resolve"`
	Respond  string `json:"respond"`
}

// limitRows lists a policy's limits for forms: every tier 1-4, then the
// priorities that have their own, by tier and priority.
func limitRows(p Policy) []SLALimit {
	var rows []SLALimit
	for tier := 1; tier <= 4; tier++ {
		rows = append(rows, SLALimit{Tier: tier, Resolve: HumanSpan(p.Limits[tier]), Respond: HumanSpan(p.Response[tier])})
	}
	keys := slices.Collect(maps.Keys(p.LimitsByPriority))
	for k := range p.ResponseByPriority {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b TierPriority) int {
		if a.Tier != b.Tier {
			return a.Tier - b.Tier
		}
		return a.Priority - b.Priority
	})
	for _, k := range keys {
		rows = append(rows, SLALimit{Tier: k.Tier, Priority: k.Priority,
			Resolve: HumanSpan(p.LimitsByPriority[k]), Respond: HumanSpan(p.ResponseByPriority[k])})
	}
	return rows
}

// apply returns base with the settings over it.
func (st SLASettings) apply(base Policy) (Policy, error) {
	p := base
	if st.TierLimits != nil {
		m, bp, err := ParseLimitsByPriority(*st.TierLimits)
		if err != nil {
			return p, invalid("tier_limits: %v", err)
		}
		p.Limits, p.LimitsByPriority = m, bp
	}
	if st.ResponseLimits != nil {
		m, bp, err := ParseLimitsByPriority(*st.ResponseLimits)
		if err != nil {
			return p, invalid("response_limits: %v", err)
		}
		p.Response, p.ResponseByPriority = m, bp
	}
	if st.BusinessHours != nil {
		h, err := parseHoursSetting(*st.BusinessHours)
		if err != nil {
			return p, err
		}
		p.Hours = h
	}
	if err := p.Validate(); err != nil {
		return p, invalid("%v", err)
	}
	return p, nil
}

// SLA reports the policy in force.
func (s *Service) SLA() SLAView {
	p := s.policy()
	v := SLAView{TierLimits: FormatLimits(p.Limits, p.LimitsByPriority), ResponseLimits: FormatLimits(p.Response, p.ResponseByPriority),
		BusinessHours: FormatBusinessHours(p.Hours), Limits: limitRows(p),
		TierLimitsSource: "default", ResponseLimitsSource: "default", BusinessHoursSource: "default"}
	if raw := s.slaSetting.Load(); raw != nil {
		var st SLASettings
		if json.Unmarshal([]byte(*raw), &st) == nil {
			if st.TierLimits != nil {
				v.TierLimitsSource = "setting"
			}
			if st.ResponseLimits != nil {
				v.ResponseLimitsSource = "setting"
			}
			if st.BusinessHours != nil {
				v.BusinessHoursSource = "setting"
			}
		}
	}
	return v
}

// SetSLA validates and stores the admin's SLA settings, puts them in force
// at once and moves every ticket's next check to the new limits and hours.
// Tickets' past events stay as they were; a running clock counts the time
// since it last started (tier entry or resume) under the new hours.
func (s *Service) SetSLA(ctx context.Context, st SLASettings) (SLAView, error) {
	p, err := st.apply(s.cfg.Policy)
	if err != nil {
		return SLAView{}, err
	}
	b, err := json.Marshal(st)
	if err != nil {
		return SLAView{}, err
	}
	if err := s.cfg.Store.PutSetting(ctx, SLASettingKey, string(b)); err != nil {
		return SLAView{}, fmt.Errorf("save SLA settings: %w", err)
	}
	raw := string(b)
	s.pol.Store(&p)
	if err := s.Resync(ctx); err != nil {
		// Stored and in force; the SLA loop sees the setting as new on
		// its next round and moves the check times then.
		s.log.Error("SLA settings saved; moving check times failed, the SLA loop retries", "err", err)
		s.slaSetting.Store(nil)
		return s.SLA(), nil
	}
	s.slaSetting.Store(&raw)
	return s.SLA(), nil
}

// ReloadSLA reads the stored SLA settings and puts them in force if they
// changed (another hub on the same database may have set them). It
// reports whether the policy changed. A stored setting that no longer
// validates is logged and ignored: the hub keeps the policy it has.
func (s *Service) ReloadSLA(ctx context.Context) (bool, error) {
	raw, ok, err := s.cfg.Store.GetSetting(ctx, SLASettingKey)
	if err != nil {
		return false, fmt.Errorf("read SLA settings: %w", err)
	}
	if !ok {
		raw = ""
	}
	if cur := s.slaSetting.Load(); cur != nil && *cur == raw {
		return false, nil
	} else if cur == nil && raw == "" {
		s.slaSetting.Store(&raw)
		return false, nil
	}
	var st SLASettings
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &st); err != nil {
			s.slaSetting.Store(&raw)
			return false, fmt.Errorf("SLA settings are not valid JSON; set them again with PUT /api/v1/settings/sla: %w", err)
		}
	}
	p, err := st.apply(s.cfg.Policy)
	s.slaSetting.Store(&raw)
	if err != nil {
		return false, fmt.Errorf("stored SLA settings: %w; set them again with PUT /api/v1/settings/sla", err)
	}
	old := s.policy()
	s.pol.Store(&p)
	return !maps.Equal(old.Limits, p.Limits) || !maps.Equal(old.Response, p.Response) ||
		!maps.Equal(old.LimitsByPriority, p.LimitsByPriority) || !maps.Equal(old.ResponseByPriority, p.ResponseByPriority) ||
		FormatBusinessHours(old.Hours) != FormatBusinessHours(p.Hours), nil
}

// parseHoursSetting reads the business hours setting with the serve
// flag's parser: "" (or only spaces) is none, so clocks count all hours.
func parseHoursSetting(s string) (*BusinessHours, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	if len(s) > 200 {
		return nil, invalid("business_hours: %d characters is too long; write %s", len(s), BusinessHoursFormat)
	}
	h, err := ParseBusinessHours(s)
	if err != nil {
		return nil, invalid("business_hours: %v (format: %s)", err, BusinessHoursFormat)
	}
	return h, nil
}

// FormatBusinessHours writes business hours as ParseBusinessHours reads
// them, days from Monday ("mon-fri 09:00-17:00 Europe/Berlin"); "" for
// none.
func FormatBusinessHours(h *BusinessHours) string {
	if h == nil {
		return ""
	}
	names := []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
	// Monday first, so a working week is one range.
	order := make([]int, 0, 7)
	for _, d := range h.Days {
		if i := (int(d) + 6) % 7; !slices.Contains(order, i) {
			order = append(order, i)
		}
	}
	slices.Sort(order)
	name := func(i int) string { return names[(i+1)%7] }
	var days []string
	for i := 0; i < len(order); {
		j := i
		for j+1 < len(order) && order[j+1] == order[j]+1 {
			j++
		}
		if j == i {
			days = append(days, name(order[i]))
		} else {
			days = append(days, name(order[i])+"-"+name(order[j]))
		}
		i = j + 1
	}
	clock := func(d time.Duration) string {
		return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	zone := "UTC"
	if h.Location != nil {
		zone = h.Location.String()
	}
	return strings.Join(days, ",") + " " + clock(h.From) + "-" + clock(h.To) + " " + zone
}
