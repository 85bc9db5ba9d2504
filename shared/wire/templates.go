package wire

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tierline/tierline/shared/orgdoc"
)

func init() {
	register(func() Body { return new(TemplatesQuery) })
	register(func() Body { return new(TemplateList) })
}

// Message types of service request templates.
const (
	TypeTemplatesQuery Type = "templates_query" // agent → hub: which request templates are there
	TypeTemplateList   Type = "template_list"   // hub → agent: answer to a templates_query
)

// Kinds of a request template's fields.
const (
	FieldText   = "text"   // free text, within MinLen..MaxLen characters
	FieldChoice = "choice" // one of Choices
	FieldYesNo  = "yesno"  // "yes" or "no"
)

// FieldKinds lists the kinds in the order forms offer them.
var FieldKinds = []string{FieldText, FieldChoice, FieldYesNo}

// Limits of request templates and their answers.
const (
	// MaxTemplates is how many templates a hub keeps and sends a device.
	MaxTemplates = 100
	// MaxTemplateFields bounds a template's fields, MaxFieldChoices a
	// choice field's choices.
	MaxTemplateFields = 20
	MaxFieldChoices   = 30
	// MaxAnswerText is the longest answer to a text field, in characters,
	// and the default limit of one.
	MaxAnswerText = 2000
	// MaxTemplateName and MaxFieldLabel bound names, labels and choices
	// (characters); MaxTemplateText a template's description and a field's
	// help text.
	MaxTemplateName = 100
	MaxFieldLabel   = 200
	MaxTemplateText = 2000
)

// RequestTemplate is a service request users can file (new software,
// access to a share, a new monitor): its own typed fields, and the tier,
// priority and category its tickets start with.
//
// A later field will point a template at a package of the signed catalog,
// so fulfilling the request can install it; it is an added optional
// field, and a template without it stays a plain request.
type RequestTemplate struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Category is one of HelpCategories, or "".
	Category string `json:"category,omitempty"`
	// Tier (1-4) is where its tickets are filed; Priority (1 highest to
	// 5) what they start with.
	Tier     int             `json:"tier"`
	Priority int             `json:"priority"`
	Fields   []TemplateField `json:"fields"`
	// Software, when set, is the id of an entry of the signed software
	// catalog: a request from this template asks for that install, which
	// a technician of the template's tier or above approves (the hub
	// then queues install-software on the device) or refuses.
	Software string `json:"software,omitempty"`
}

// TemplateField is one question of a request template.
type TemplateField struct {
	// Key names the answer (kebab-case, unique in the template).
	Key   string `json:"key"`
	Label string `json:"label"`
	Kind  string `json:"kind"` // FieldText, FieldChoice or FieldYesNo
	Help  string `json:"help,omitempty"`
	// Required: the request cannot be filed without an answer.
	Required bool `json:"required,omitempty"`
	// MinLen and MaxLen bound a text answer, in characters; MaxLen 0
	// means MaxAnswerText.
	MinLen int `json:"min_len,omitempty"`
	MaxLen int `json:"max_len,omitempty"`
	// Choices are a choice field's answers.
	Choices []string `json:"choices,omitempty"`
}

// FormAnswer is one answered field as a ticket keeps it: the label it had
// when the request was filed, so the ticket reads the same after the
// template changes.
type FormAnswer struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	Value string `json:"value"`
}

// Validate reports what is wrong with the template, in words for the
// admin who wrote it.
func (t RequestTemplate) Validate() error {
	if err := ValidateRunID(t.ID); err != nil {
		return fmt.Errorf("id: %w", err)
	}
	if err := checkLine("name", t.Name, MaxTemplateName, true); err != nil {
		return err
	}
	if utf8.RuneCountInString(t.Description) > MaxTemplateText || !utf8.ValidString(t.Description) {
		return fmt.Errorf("description must be valid text of at most %d characters", MaxTemplateText)
	}
	if t.Category != "" && !validCategory(t.Category) {
		return fmt.Errorf("category %q is not one of %s", Clip(t.Category, 32), strings.Join(HelpCategories, ", "))
	}
	if t.Tier < 1 || t.Tier > 4 {
		return fmt.Errorf("tier %d: use 1 to 4", t.Tier)
	}
	if t.Priority < 1 || t.Priority > 5 {
		return fmt.Errorf("priority %d: use 1 (highest) to 5", t.Priority)
	}
	if t.Software != "" && !orgdoc.ValidID(t.Software) {
		return fmt.Errorf("software %q: name a software catalog entry id (1 to 64 of a-z, 0-9 and '-')", Clip(t.Software, 64))
	}
	if len(t.Fields) > MaxTemplateFields {
		return fmt.Errorf("%d fields: a template has at most %d", len(t.Fields), MaxTemplateFields)
	}
	seen := map[string]bool{}
	for i, f := range t.Fields {
		if err := f.validate(); err != nil {
			return fmt.Errorf("field %d: %w", i+1, err)
		}
		if seen[f.Key] {
			return fmt.Errorf("field %d: key %q is used twice", i+1, f.Key)
		}
		seen[f.Key] = true
	}
	return nil
}

func (f TemplateField) validate() error {
	if !validCheckName(f.Key) {
		return fmt.Errorf("key %q: use 1 to 64 of a-z, 0-9 and -", Clip(f.Key, 64))
	}
	if err := checkLine("label", f.Label, MaxFieldLabel, true); err != nil {
		return err
	}
	if utf8.RuneCountInString(f.Help) > MaxTemplateText || !utf8.ValidString(f.Help) {
		return fmt.Errorf("help must be valid text of at most %d characters", MaxTemplateText)
	}
	switch f.Kind {
	case FieldText:
		if f.MinLen < 0 || f.MaxLen < 0 || f.MaxLen > MaxAnswerText || f.MinLen > f.maxLen() {
			return fmt.Errorf("lengths: min_len %d and max_len %d must satisfy 0 <= min_len <= max_len <= %d", f.MinLen, f.MaxLen, MaxAnswerText)
		}
	case FieldChoice:
		if len(f.Choices) == 0 || len(f.Choices) > MaxFieldChoices {
			return fmt.Errorf("a choice field has 1 to %d choices", MaxFieldChoices)
		}
		for _, c := range f.Choices {
			if err := checkLine("choice", c, MaxFieldLabel, true); err != nil {
				return err
			}
		}
		if len(slices.Compact(slices.Sorted(slices.Values(f.Choices)))) != len(f.Choices) {
			return errors.New("a choice is listed twice")
		}
	case FieldYesNo:
	default:
		return fmt.Errorf("kind %q: use one of %s", Clip(f.Kind, 32), strings.Join(FieldKinds, ", "))
	}
	if f.Kind != FieldText && (f.MinLen != 0 || f.MaxLen != 0) {
		return errors.New("min_len and max_len are for text fields")
	}
	if f.Kind != FieldChoice && len(f.Choices) > 0 {
		return errors.New("choices are for choice fields")
	}
	return nil
}

func (f TemplateField) maxLen() int {
	if f.MaxLen == 0 {
		return MaxAnswerText
	}
	return f.MaxLen
}

// checkLine checks a one-line text of at most max characters.
func checkLine(what, s string, max int, required bool) error {
	switch {
	case required && strings.TrimSpace(s) == "":
		return fmt.Errorf("%s is required", what)
	case !utf8.ValidString(s) || strings.ContainsAny(s, "\x00\r\n"):
		return fmt.Errorf("%s must be one line of text", what)
	case utf8.RuneCountInString(s) > max:
		return fmt.Errorf("%s is longer than %d characters", what, max)
	}
	return nil
}

// AnswerError is what is wrong with one answer, for the form to show
// beside the field.
type AnswerError struct {
	Key, Label, Problem string
}

func (e *AnswerError) Error() string {
	if e.Label == "" {
		return e.Key + ": " + e.Problem
	}
	return e.Label + ": " + e.Problem
}

// CheckAnswers checks a user's answers against the template and returns
// them in the template's order with their labels, trimmed; unanswered
// optional fields are left out. The first problem is an *AnswerError.
// The agent checks before filing and the hub again on arrival.
func (t RequestTemplate) CheckAnswers(answers map[string]string) ([]FormAnswer, error) {
	for k := range answers {
		if !slices.ContainsFunc(t.Fields, func(f TemplateField) bool { return f.Key == k }) {
			return nil, &AnswerError{Key: Clip(k, 64), Problem: "the request form has no such question"}
		}
	}
	out := make([]FormAnswer, 0, len(t.Fields))
	for _, f := range t.Fields {
		v := strings.TrimSpace(answers[f.Key])
		bad := func(format string, a ...any) error {
			return &AnswerError{Key: f.Key, Label: f.Label, Problem: fmt.Sprintf(format, a...)}
		}
		if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			return nil, bad("the answer is not valid text")
		}
		if v == "" {
			if f.Required {
				return nil, bad("an answer is required")
			}
			continue
		}
		switch f.Kind {
		case FieldText:
			n := utf8.RuneCountInString(v)
			if n < f.MinLen {
				return nil, bad("write at least %d characters", f.MinLen)
			}
			if n > f.maxLen() {
				return nil, bad("write at most %d characters", f.maxLen())
			}
		case FieldChoice:
			if !slices.Contains(f.Choices, v) {
				return nil, bad("choose one of %s", strings.Join(f.Choices, ", "))
			}
		case FieldYesNo:
			if v != "yes" && v != "no" {
				return nil, bad(`answer "yes" or "no"`)
			}
		}
		out = append(out, FormAnswer{Key: f.Key, Label: f.Label, Value: v})
	}
	return out, nil
}

// ValidateAnswers checks the form of answers as they travel, without the
// template: how many, key names and sizes.
func ValidateAnswers(answers map[string]string) error {
	if len(answers) > MaxTemplateFields {
		return fmt.Errorf("at most %d answers", MaxTemplateFields)
	}
	for k, v := range answers {
		if !validCheckName(k) {
			return fmt.Errorf("answer key %q is not kebab-case", Clip(k, 64))
		}
		if len(v) > 4*MaxAnswerText {
			return fmt.Errorf("answer %s is longer than %d bytes", k, 4*MaxAnswerText)
		}
	}
	return nil
}

// TemplatesQuery asks the hub for its request templates.
type TemplatesQuery struct {
	QueryID string `json:"query_id"`
}

func (TemplatesQuery) Type() Type { return TypeTemplatesQuery }

func (q TemplatesQuery) Validate() error {
	if err := ValidateRunID(q.QueryID); err != nil {
		return fmt.Errorf("query_id: %w", err)
	}
	return nil
}

// TemplateList answers a TemplatesQuery: every request template, in the
// order users see them.
type TemplateList struct {
	QueryID   string            `json:"query_id"`
	Templates []RequestTemplate `json:"templates"`
}

func (TemplateList) Type() Type { return TypeTemplateList }

func (l TemplateList) Validate() error {
	if l.QueryID == "" {
		return errors.New("template list needs query_id")
	}
	if len(l.Templates) > MaxTemplates {
		return fmt.Errorf("more than %d templates", MaxTemplates)
	}
	for _, t := range l.Templates {
		if err := t.Validate(); err != nil {
			return fmt.Errorf("template %q: %w", Clip(t.Name, 64), err)
		}
	}
	return nil
}
