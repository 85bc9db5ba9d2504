package wire

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func monitorTemplate() RequestTemplate {
	return RequestTemplate{ID: "tpl-monitor", Name: "A new monitor", Category: "other", Tier: 2, Priority: 4,
		Fields: []TemplateField{
			{Key: "size", Label: "Size", Kind: FieldChoice, Required: true, Choices: []string{"24 inch", "27 inch"}},
			{Key: "why", Label: "What for", Kind: FieldText, MinLen: 5, MaxLen: 40},
			{Key: "standing-desk", Label: "Standing desk?", Kind: FieldYesNo},
		}}
}

func TestRequestTemplateValidate(t *testing.T) {
	if err := monitorTemplate().Validate(); err != nil {
		t.Fatalf("a good template is refused: %v", err)
	}
	for name, tc := range map[string]struct {
		edit func(*RequestTemplate)
		want string
	}{
		"no name":           {func(t *RequestTemplate) { t.Name = " " }, "name is required"},
		"two lines":         {func(t *RequestTemplate) { t.Name = "a\nb" }, "one line"},
		"tier 0":            {func(t *RequestTemplate) { t.Tier = 0 }, "tier 0"},
		"priority 6":        {func(t *RequestTemplate) { t.Priority = 6 }, "priority 6"},
		"bad category":      {func(t *RequestTemplate) { t.Category = "coffee" }, "category"},
		"bad key":           {func(t *RequestTemplate) { t.Fields[0].Key = "Size!" }, "key"},
		"twice":             {func(t *RequestTemplate) { t.Fields[1].Key = "size" }, "used twice"},
		"unknown kind":      {func(t *RequestTemplate) { t.Fields[0].Kind = "date" }, "kind"},
		"no choices":        {func(t *RequestTemplate) { t.Fields[0].Choices = nil }, "choices"},
		"same choice":       {func(t *RequestTemplate) { t.Fields[0].Choices = []string{"a", "a"} }, "twice"},
		"min over max":      {func(t *RequestTemplate) { t.Fields[1].MinLen = 50 }, "min_len"},
		"max over limit":    {func(t *RequestTemplate) { t.Fields[1].MaxLen = MaxAnswerText + 1 }, "max_len"},
		"lengths on yes/no": {func(t *RequestTemplate) { t.Fields[2].MaxLen = 3 }, "for text fields"},
		"choices on text":   {func(t *RequestTemplate) { t.Fields[1].Choices = []string{"x"} }, "for choice fields"},
		"too many fields": {func(t *RequestTemplate) {
			for i := range MaxTemplateFields {
				t.Fields = append(t.Fields, TemplateField{Key: "f" + strings.Repeat("x", i+1), Label: "x", Kind: FieldYesNo})
			}
		}, "at most"},
	} {
		tpl := monitorTemplate()
		tc.edit(&tpl)
		err := tpl.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error saying %q", name, err, tc.want)
		}
	}
}

func TestCheckAnswers(t *testing.T) {
	tpl := monitorTemplate()
	got, err := tpl.CheckAnswers(map[string]string{"size": " 27 inch ", "standing-desk": "yes"})
	if err != nil {
		t.Fatal(err)
	}
	want := []FormAnswer{{Key: "size", Label: "Size", Value: "27 inch"}, {Key: "standing-desk", Label: "Standing desk?", Value: "yes"}}
	if !slices.Equal(got, want) {
		t.Fatalf("answers %+v, want %+v (template order, trimmed, unanswered optional left out)", got, want)
	}
	for name, tc := range map[string]struct {
		answers map[string]string
		want    string
	}{
		"required missing": {map[string]string{"why": "for the designers"}, "Size: an answer is required"},
		"not a choice":     {map[string]string{"size": "32 inch"}, "Size: choose one of 24 inch, 27 inch"},
		"too short":        {map[string]string{"size": "24 inch", "why": "eh"}, "What for: write at least 5 characters"},
		"too long":         {map[string]string{"size": "24 inch", "why": strings.Repeat("é", 41)}, "What for: write at most 40 characters"},
		"yes/no":           {map[string]string{"size": "24 inch", "standing-desk": "maybe"}, `Standing desk?: answer "yes" or "no"`},
		"unknown question": {map[string]string{"size": "24 inch", "colour": "red"}, "colour: the request form has no such question"},
		"not text":         {map[string]string{"size": "24 inch", "why": "bad \xff bytes"}, "What for: the answer is not valid text"},
	} {
		_, err := tpl.CheckAnswers(tc.answers)
		var ae *AnswerError
		if !errors.As(err, &ae) || err.Error() != tc.want {
			t.Errorf("%s: got %v, want %q", name, err, tc.want)
		}
	}
	// Characters are counted, not bytes: 40 two-byte letters fit.
	if _, err := tpl.CheckAnswers(map[string]string{"size": "24 inch", "why": strings.Repeat("é", 40)}); err != nil {
		t.Fatalf("40 characters refused: %v", err)
	}
}

func TestHelpRequestAnswersNeedTemplate(t *testing.T) {
	req := HelpRequest{RequestID: "r1", Text: "monitor", Answers: map[string]string{"size": "27 inch"}}
	if err := req.Validate(); err == nil {
		t.Fatal("answers without a template accepted")
	}
	req.Template = "tpl-monitor"
	if err := req.Validate(); err != nil {
		t.Fatal(err)
	}
	req.Answers["Bad Key"] = "x"
	if err := req.Validate(); err == nil {
		t.Fatal("an answer key that is not kebab-case accepted")
	}
}

// FuzzCheckAnswers: whatever a template and answers hold, what the check
// accepts keeps the template's rules.
func FuzzCheckAnswers(f *testing.F) {
	b, _ := json.Marshal(monitorTemplate())
	f.Add(b, []byte(`{"size":"24 inch","why":"for work","standing-desk":"no"}`))
	f.Add(b, []byte(`{"size":""}`))
	f.Add([]byte(`{"id":"x","name":"x","tier":1,"priority":1,"fields":[{"key":"a","label":"A","kind":"text","min_len":2,"max_len":3}]}`), []byte(`{"a":"abcd"}`))
	f.Fuzz(func(t *testing.T, rawTpl, rawAnswers []byte) {
		var tpl RequestTemplate
		var answers map[string]string
		if json.Unmarshal(rawTpl, &tpl) != nil || json.Unmarshal(rawAnswers, &answers) != nil || tpl.Validate() != nil {
			return
		}
		got, err := tpl.CheckAnswers(answers)
		if err != nil {
			return
		}
		for _, a := range got {
			i := slices.IndexFunc(tpl.Fields, func(f TemplateField) bool { return f.Key == a.Key })
			if i < 0 || a.Value == "" || !utf8.ValidString(a.Value) {
				t.Fatalf("accepted %+v", a)
			}
			f := tpl.Fields[i]
			switch f.Kind {
			case FieldText:
				if n := utf8.RuneCountInString(a.Value); n < f.MinLen || n > f.maxLen() {
					t.Fatalf("accepted %d characters for %+v", n, f)
				}
			case FieldChoice:
				if !slices.Contains(f.Choices, a.Value) {
					t.Fatalf("accepted %q for %+v", a.Value, f)
				}
			case FieldYesNo:
				if a.Value != "yes" && a.Value != "no" {
					t.Fatalf("accepted %q for yes/no", a.Value)
				}
			}
		}
		for _, f := range tpl.Fields {
			if f.Required && !slices.ContainsFunc(got, func(a FormAnswer) bool { return a.Key == f.Key }) {
				t.Fatalf("required %s missing from %+v", f.Key, got)
			}
		}
	})
}
