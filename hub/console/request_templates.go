package console

import (
	"context"
	"net/http"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/wire"
)

// requestsStore is what the request template pages read from the store.
type requestsStore interface {
	ListRequestTemplates(ctx context.Context) ([]store.RequestTemplate, error)
}

// Service request templates: admins define them here; every change goes
// through the API (POST/PUT/DELETE /api/v1/request-templates) from
// request_templates.js.
func init() {
	Register(Page{Pattern: "GET /admin/templates", Role: store.RoleAdmin, Handle: requestTemplatesPage})
}

type requestTemplatesData struct {
	Templates  []store.RequestTemplate
	Categories []string
	Kinds      []string
	Tiers      []int
	Priorities []int
	MaxFields  int
	MaxAnswer  int
}

func requestTemplatesPage(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	list, err := c.requests.ListRequestTemplates(r.Context())
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	d := requestTemplatesData{Templates: list, Categories: wire.HelpCategories, Kinds: wire.FieldKinds, Tiers: []int{1, 2, 3, 4},
		Priorities: []int{1, 2, 3, 4, 5}, MaxFields: wire.MaxTemplateFields, MaxAnswer: wire.MaxAnswerText}
	c.Render(w, r, req, http.StatusOK, "request_templates.html", View{Title: "Request templates", Scripts: []string{"request_templates.js"}, Data: d})
}

// fieldKindWords names a field kind for people.
func fieldKindWords(kind string) string {
	switch kind {
	case wire.FieldText:
		return "text"
	case wire.FieldChoice:
		return "choice"
	case wire.FieldYesNo:
		return "yes/no"
	}
	return kind
}
