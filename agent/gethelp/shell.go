package gethelp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/user"
	"regexp"
	"strings"
	"time"

	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/shared/wire"
)

// Shell is Get help from a terminal: the work of the help, kb, tickets,
// reply and survey subcommands, done through the running agent's local
// socket and printed for a person (or as JSON).
type Shell struct {
	Agent *localipc.Client
	Out   io.Writer
	// JSON prints answers as JSON instead of words.
	JSON bool
}

// InputError is the user's own input refused before the agent is asked
// (a usage error).
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// shellUser is the user running the command, "" when unknown.
func shellUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

// shellTimeout bounds one call of a subcommand to the running agent.
const shellTimeout = 30 * time.Second

func (sh Shell) json(v any) {
	b, _ := json.MarshalIndent(v, "", "  ")
	fmt.Fprintln(sh.Out, string(b))
}

// File files call as a ticket in the name of the user running the
// command, with a new request id unless it has one. With suggest (and not
// JSON), the matching knowledge-base articles are shown first and
// recorded as tried.
func (sh Shell) File(ctx context.Context, call localipc.HelpCall, suggest bool) error {
	if call.RequestID == "" {
		call.RequestID = wire.NewID()
	}
	call.User = shellUser()
	if err := (wire.HelpRequest{RequestID: call.RequestID, Text: call.Text, Category: call.Category, User: call.User}).Validate(); err != nil {
		return &InputError{Err: err}
	}
	if suggest && !sh.JSON {
		call.Tried.Articles = sh.suggest(ctx, call.Text)
	}
	cctx, cancel := context.WithTimeout(ctx, shellTimeout)
	defer cancel()
	ans, err := sh.Agent.Help(cctx, call)
	if err != nil {
		return err
	}
	if sh.JSON {
		sh.json(ans)
		return nil
	}
	switch {
	case ans.Joined:
		fmt.Fprintf(sh.Out, "Added to your ticket #%d with the Tier %d help desk (you asked the same a moment ago).\n", ans.Number, ans.Tier)
		if ans.Next != "" {
			fmt.Fprintln(sh.Out, ans.Next)
		}
	case ans.Number > 0:
		fmt.Fprintf(sh.Out, "Ticket #%d filed with the Tier %d help desk.\n", ans.Number, ans.Tier)
		if ans.Next != "" {
			fmt.Fprintln(sh.Out, ans.Next)
		}
	case ans.Connected:
		fmt.Fprintf(sh.Out, "Your request is on its way to the help desk (request %s); its ticket number will follow.\n", ans.RequestID)
	default:
		fmt.Fprintf(sh.Out, "The help desk cannot be reached right now. Your request is saved on this computer (request %s)\n"+
			"and will be sent automatically as soon as the connection is back.\n", ans.RequestID)
	}
	return nil
}

// suggest prints the knowledge-base articles matching text, one line
// each, and returns their ids (the self-help shown).
func (sh Shell) suggest(ctx context.Context, text string) []string {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ans, err := sh.Agent.KB(cctx, localipc.KBCall{Text: text})
	if err != nil || len(ans.Articles) == 0 {
		return nil
	}
	fmt.Fprintln(sh.Out, "These help desk articles may solve it (tierline-agent kb \"words\" shows them in full):")
	var ids []string
	for _, a := range ans.Articles {
		fmt.Fprintf(sh.Out, "  - %s  (article %s)\n", oneLine(a.Title, 100), a.ID)
		ids = append(ids, a.ID)
	}
	fmt.Fprintln(sh.Out, "Filing your request anyway; it says which articles you were shown.")
	return ids
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return s
}

// Search prints the published articles matching text; full prints each
// article's whole text.
func (sh Shell) Search(ctx context.Context, text string, full bool) error {
	cctx, cancel := context.WithTimeout(ctx, shellTimeout)
	defer cancel()
	ans, err := sh.Agent.KB(cctx, localipc.KBCall{Text: text})
	if err != nil {
		return err
	}
	if sh.JSON {
		sh.json(ans)
		return nil
	}
	if ans.Cached {
		fmt.Fprintln(sh.Out, "(The help desk cannot be reached; these are from the articles this computer saw before.)")
	}
	if len(ans.Articles) == 0 {
		fmt.Fprintln(sh.Out, `No matching articles. Ask for help with: tierline-agent help "what is wrong"`)
		return nil
	}
	for _, a := range ans.Articles {
		fmt.Fprintf(sh.Out, "%s  (article %s)\n", oneLine(a.Title, 100), a.ID)
		switch {
		case full:
			for _, l := range strings.Split(strings.TrimSpace(a.Body), "\n") {
				fmt.Fprintf(sh.Out, "    %s\n", PlainMarkdown(l))
			}
		case a.Snippet != "":
			fmt.Fprintf(sh.Out, "    %s\n", oneLine(PlainMarkdown(a.Snippet), 160))
		}
		if len(a.Fixes) > 0 {
			fmt.Fprintf(sh.Out, "    Fixes: %s\n", strings.Join(a.Fixes, ", "))
		}
	}
	return nil
}

// Tickets prints the caller's tickets on this computer.
func (sh Shell) Tickets(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, shellTimeout)
	defer cancel()
	list, err := sh.Agent.Tickets(cctx, localipc.TicketsCall{})
	if err != nil {
		return err
	}
	if sh.JSON {
		sh.json(list)
		return nil
	}
	if len(list) == 0 {
		fmt.Fprintln(sh.Out, `No tickets. Ask for help with: tierline-agent help "what is wrong"`)
	}
	for _, t := range list {
		fmt.Fprintf(sh.Out, "#%d  %s  Tier %d  %s  (id %s)\n", t.Number, t.State, t.Tier, t.Title, t.ID)
		for _, m := range t.Messages {
			fmt.Fprintf(sh.Out, "    %s %s: %s\n", m.Time.Local().Format("2006-01-02 15:04"), m.From, m.Text)
		}
		if t.AskSurvey {
			fmt.Fprintf(sh.Out, "    Resolved. How did we do? tierline-agent survey --ticket %d --score 1-5\n", t.Number)
		}
	}
	return nil
}

// Reply sends the user's message to the technicians on a ticket.
func (sh Shell) Reply(ctx context.Context, r wire.UserReply) error {
	// The id makes the reply count once however often it is delivered.
	r.ID, r.User = wire.NewID(), shellUser()
	if err := r.Validate(); err != nil {
		return &InputError{Err: err}
	}
	cctx, cancel := context.WithTimeout(ctx, shellTimeout)
	defer cancel()
	if _, err := sh.Agent.Reply(cctx, r); err != nil {
		return err
	}
	fmt.Fprintln(sh.Out, "Reply saved; it reaches the help desk as soon as the hub can be reached.")
	return nil
}

// Survey sends the user's answer to a resolved ticket's survey.
func (sh Shell) Survey(ctx context.Context, a wire.SurveyAnswer) error {
	if err := a.Validate(); err != nil {
		return &InputError{Err: err}
	}
	cctx, cancel := context.WithTimeout(ctx, shellTimeout)
	defer cancel()
	if _, err := sh.Agent.Survey(cctx, a); err != nil {
		return err
	}
	fmt.Fprintln(sh.Out, "Thank you. Your answer reaches the help desk as soon as the hub can be reached.")
	return nil
}

var (
	mdLink     = regexp.MustCompile(`\[([^\]]*)\]\(([^)]*)\)`)
	mdStrong   = regexp.MustCompile(`(\*\*|__)(.+?)(\*\*|__)`)
	mdEmphasis = regexp.MustCompile(`(^|[^\w*])[*_]([^*_\s](?:[^*_]*[^*_\s])?)[*_]`)
	mdCode     = regexp.MustCompile("`([^`]+)`")
	mdHeading  = regexp.MustCompile(`^(\s*)#{1,6}\s+`)
)

// PlainMarkdown writes a line of an article's Markdown as a terminal shows
// it: emphasis and code marks dropped, a link as its text and address, a
// heading without its hashes.
func PlainMarkdown(line string) string {
	line = mdHeading.ReplaceAllString(line, "$1")
	line = mdLink.ReplaceAllString(line, "$1 ($2)")
	line = mdStrong.ReplaceAllString(line, "$2")
	line = mdEmphasis.ReplaceAllString(line, "$1$2")
	return mdCode.ReplaceAllString(line, "$1")
}
