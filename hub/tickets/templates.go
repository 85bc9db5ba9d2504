package tickets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/shared/wire"
)

// ImpactUrgency is an impact and urgency that make priority p (1 highest
// to 5), the inverse of Priority: a template's priority becomes its
// tickets' impact and urgency.
func ImpactUrgency(p int) (impact, urgency int) {
	switch clamp(p, 1, 5) {
	case 1:
		return 1, 1
	case 2:
		return 1, 2
	case 3:
		return 2, 2
	case 4:
		return 3, 2
	}
	return 3, 3
}

// request is a ticket's filing from a request template: the template
// and the form the ticket keeps.
type request struct {
	tpl  store.RequestTemplate
	form ticketevent.RequestForm
}

// fromTemplate checks answers against template id. A technician's intake
// is strict: an unknown template or a wrong answer is refused, so they can
// correct it. A device's request is not refused (the user was told it was
// sent, and the device checked the answers against its own copy of the
// template, which the hub may since have changed or deleted): it is filed
// as it came, with the problem on its form for the technician.
func (s *Service) fromTemplate(ctx context.Context, id string, answers map[string]string, strict bool) (request, error) {
	tpl, err := s.cfg.Store.GetRequestTemplate(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound) && strict:
		return request{}, invalid("no request template %q: list them with GET /api/v1/request-templates", wire.Clip(id, 64))
	case errors.Is(err, store.ErrNotFound):
		gone := wire.RequestTemplate{ID: id, Name: "a request template since deleted", Tier: 1, Priority: 4}
		return request{tpl: store.RequestTemplate{RequestTemplate: gone}, form: ticketevent.RequestForm{Template: id, Name: gone.Name,
			Answers: asSent(gone, answers), Problem: "the template was deleted after the request was made on the device; the answers are kept as sent"}}, nil
	case err != nil:
		return request{}, fmt.Errorf("read request template %s: %w", id, err)
	}
	r := request{tpl: tpl, form: ticketevent.RequestForm{Template: tpl.ID, Name: tpl.Name, Software: tpl.Software}}
	r.form.Answers, err = tpl.CheckAnswers(answers)
	if err != nil {
		if strict {
			return request{}, invalid("%v", err)
		}
		r.form.Problem = "the answers do not fit the template as it is now (" + err.Error() + "); they are kept as sent"
		r.form.Answers = asSent(tpl.RequestTemplate, answers)
	}
	return r, nil
}

// tier is where the template files its tickets: its tier, no queue, and
// the rule named after it.
func (r *request) tier() (int, string, string) {
	return r.tpl.Tier, "", "template: " + r.tpl.Name
}

// asSent lists answers as they came, in the template's order where it
// has the key (with its label), the rest after by key.
func asSent(tpl wire.RequestTemplate, answers map[string]string) []wire.FormAnswer {
	out := []wire.FormAnswer{}
	done := map[string]bool{}
	for _, f := range tpl.Fields {
		if v, ok := answers[f.Key]; ok {
			out = append(out, wire.FormAnswer{Key: f.Key, Label: f.Label, Value: strings.TrimSpace(v)})
			done[f.Key] = true
		}
	}
	var rest []string
	for k := range answers {
		if !done[k] {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		out = append(out, wire.FormAnswer{Key: k, Label: k, Value: strings.TrimSpace(answers[k])})
	}
	return out
}

// TemplatesForDevices lists the request templates a device's Get help
// page offers.
func (s *Service) TemplatesForDevices(ctx context.Context) ([]wire.RequestTemplate, error) {
	list, err := s.cfg.Store.ListRequestTemplates(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]wire.RequestTemplate, 0, len(list))
	for _, t := range list {
		if t.Validate() == nil && len(out) < wire.MaxTemplates {
			out = append(out, t.RequestTemplate)
		}
	}
	return out, nil
}
