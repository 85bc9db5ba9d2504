package gethelp

import (
	"encoding/json"
	"log/slog"
	"os"
	"reflect"
	"sync"

	"github.com/tierline/tierline/agent/fsutil"
	"github.com/tierline/tierline/shared/wire"
)

// TemplatesFile keeps the hub's service request templates in the state
// directory, so Get help offers them and checks their answers when the hub
// cannot be reached.
const TemplatesFile = "request-templates.json"

// TemplateCache is the hub's latest list of service request templates.
// Unlike the articles, the list is replaced whole: a template the hub
// deleted is no longer offered.
type TemplateCache struct {
	path string
	log  *slog.Logger

	mu   sync.Mutex
	list []wire.RequestTemplate
}

// OpenTemplateCache reads the list kept at path; an unreadable file, or
// templates in it that are not valid, are ignored.
func OpenTemplateCache(path string, log *slog.Logger) *TemplateCache {
	c := &TemplateCache{path: path, log: log, list: []wire.RequestTemplate{}}
	b, err := os.ReadFile(path)
	if err != nil {
		return c
	}
	var list []wire.RequestTemplate
	if err := json.Unmarshal(b, &list); err != nil {
		log.Warn("ignoring an unreadable request template file; it fills again from the hub", "file", path, "err", err)
		return c
	}
	c.list = valid(list)
	return c
}

// valid keeps the templates that pass their checks, at most
// wire.MaxTemplates.
func valid(list []wire.RequestTemplate) []wire.RequestTemplate {
	out := []wire.RequestTemplate{}
	for _, t := range list {
		if t.Validate() == nil && len(out) < wire.MaxTemplates {
			out = append(out, t)
		}
	}
	return out
}

// Remember replaces the list with the hub's answer, writing the file when
// it changed.
func (c *TemplateCache) Remember(list []wire.RequestTemplate) {
	list = valid(list)
	c.mu.Lock()
	defer c.mu.Unlock()
	if reflect.DeepEqual(list, c.list) {
		return
	}
	c.list = list
	b, err := json.Marshal(list)
	if err == nil {
		err = fsutil.WriteAtomic(c.path, b, 0o600)
	}
	if err != nil {
		c.log.Warn("save the request templates", "file", c.path, "err", err)
	}
}

// List is the templates as last heard from the hub.
func (c *TemplateCache) List() []wire.RequestTemplate {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]wire.RequestTemplate(nil), c.list...)
}

// Get returns template id.
func (c *TemplateCache) Get(id string) (wire.RequestTemplate, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.list {
		if t.ID == id {
			return t, true
		}
	}
	return wire.RequestTemplate{}, false
}
