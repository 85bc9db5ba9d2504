package selfhelp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// session is one browser's Get help session: what it was shown and what
// it ran, for the ticket's "self-help tried" and the agent's deflection
// record.
type session struct {
	cookie, csrf string
	id           string
	started      time.Time

	mu        sync.Mutex
	category  string
	failing   []string // failing checks when the session started
	gotStatus bool
	articles  []string
	runs      []wire.TriedFix
	requestID string // the ticket request in progress: repeated clicks file one ticket
	ticket    bool
	recorded  bool
}

func (ss *session) addArticles(ids []string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for _, id := range ids {
		if len(ss.articles) >= wire.MaxSelfHelpArticles {
			return
		}
		if id != "" && !slices.Contains(ss.articles, id) {
			ss.articles = append(ss.articles, id)
		}
	}
}

func sessionFrom(r *http.Request) *session {
	ss, _ := r.Context().Value(ctxKey{}).(*session)
	return ss
}

// callCtx bounds one local socket call with the default timeout.
func (s *Server) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.cfg.CallTimeout)
}

// writeAnswer writes the agent's answer, or what went wrong asking for it.
func writeAnswer[T any](s *Server, w http.ResponseWriter, what string, out T, err error) {
	if err != nil {
		s.agentError(w, what, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// agentError turns a local socket failure into an answer for the page.
func (s *Server) agentError(w http.ResponseWriter, what string, err error) {
	code := localipc.ErrorCode(err)
	switch {
	case errors.Is(err, localipc.ErrNotRunning):
		writeError(w, http.StatusServiceUnavailable, "the Tierline agent is not running on this computer; "+
			"restart the computer or ask your IT department")
	case code == localipc.CodeForbidden:
		writeError(w, http.StatusForbidden, err.Error())
	case code == localipc.CodeLimited:
		// The agent's words say when the user can ask again.
		writeError(w, http.StatusTooManyRequests, err.Error())
	case code == localipc.CodeUnknownOp:
		writeError(w, http.StatusNotImplemented, "the Tierline agent on this computer is too old for this ("+what+
			"); it updates itself, try again later")
	case code == localipc.CodeBadRequest || code == localipc.CodeTooLarge:
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, "the Tierline agent did not answer in time; try again")
	default:
		s.log.Warn("local call failed", "op", what, "err", err)
		writeError(w, http.StatusBadGateway, "the Tierline agent could not do this: "+err.Error())
	}
}

// decode reads a JSON body of at most maxBody bytes into v.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "send JSON (Content-Type: application/json)")
		return false
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf(
				"the request is larger than %d KiB; attach a smaller screenshot", maxBody>>10))
			return false
		}
		writeError(w, http.StatusBadRequest, "could not read the request: "+err.Error())
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "the request is not valid JSON for this route: "+err.Error())
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "the request has data after its JSON object")
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// apiSession gives the page its CSRF secret and the fixed lists it shows.
func (s *Server) apiSession(w http.ResponseWriter, r *http.Request) {
	ss := sessionFrom(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"csrf":           ss.csrf,
		"session_id":     ss.id,
		"categories":     wire.HelpCategories,
		"max_screenshot": MaxScreenshot,
		"max_text":       wire.MaxHelpText,
	})
}

func (s *Server) apiStatus(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.callCtx(r.Context())
	defer cancel()
	st, err := s.agent.Status(ctx)
	if err != nil {
		s.agentError(w, string(localipc.OpStatus), err)
		return
	}
	ss := sessionFrom(r)
	ss.mu.Lock()
	if !ss.gotStatus {
		ss.gotStatus = true
		for _, f := range st.Failing {
			ss.failing = append(ss.failing, f.Name)
		}
	}
	ss.mu.Unlock()
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) apiDiagnose(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.callCtx(r.Context())
	defer cancel()
	out, err := s.agent.Diagnose(ctx)
	writeAnswer(s, w, string(localipc.OpDiagnose), out, err)
}

// fixesAnswer is what GET /api/fixes answers: the fixes the user can run
// here, in the order to try them (RankFixes).
type fixesAnswer struct {
	Category string      `json:"category,omitempty"`
	Fixes    []RankedFix `json:"fixes"`
}

// apiFixes lists the fixes the user can run, ordered by what the
// diagnosis found and the category the user chose (?category=); the page
// asks again when either changes.
func (s *Server) apiFixes(w http.ResponseWriter, r *http.Request) {
	cat := r.URL.Query().Get("category")
	if cat != "" && !validCategory(cat) {
		writeError(w, http.StatusBadRequest, "unknown category "+clip(cat)+"; use one of "+strings.Join(wire.HelpCategories, ", "))
		return
	}
	ctx, cancel := s.callCtx(r.Context())
	defer cancel()
	out, err := s.agent.Fixes(ctx)
	if err != nil {
		s.agentError(w, string(localipc.OpFixes), err)
		return
	}
	writeJSON(w, http.StatusOK, fixesAnswer{Category: cat, Fixes: RankFixes(out.Fixes, cat)})
}

type kbCall struct {
	Text     string   `json:"text"`
	Checks   []string `json:"checks,omitempty"`
	Category string   `json:"category,omitempty"`
}

// apiKB searches the published articles; the ones shown are remembered
// as tried.
func (s *Server) apiKB(w http.ResponseWriter, r *http.Request) {
	var in kbCall
	if !decode(w, r, &in) {
		return
	}
	if len(in.Text) > wire.MaxHelpText {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("the text is longer than %d characters", wire.MaxHelpText))
		return
	}
	if len(in.Checks) > diag.MaxSearchChecks {
		in.Checks = in.Checks[:diag.MaxSearchChecks]
	}
	ss := sessionFrom(r)
	if in.Category != "" {
		if !validCategory(in.Category) {
			writeError(w, http.StatusBadRequest, "unknown category "+clip(in.Category)+"; use one of "+strings.Join(wire.HelpCategories, ", "))
			return
		}
		ss.mu.Lock()
		ss.category = in.Category
		ss.mu.Unlock()
	}
	ctx, cancel := s.callCtx(r.Context())
	defer cancel()
	out, err := s.agent.KB(ctx, localipc.KBCall{Text: in.Text, Checks: in.Checks})
	if err != nil {
		s.agentError(w, string(localipc.OpKB), err)
		return
	}
	if out.Articles == nil {
		out.Articles = []wire.KBArticle{}
	}
	ids := make([]string, 0, len(out.Articles))
	for _, a := range out.Articles {
		ids = append(ids, a.ID)
	}
	ss.addArticles(ids)
	writeJSON(w, http.StatusOK, out)
}

// apiRun runs one fix through the agent and waits for its verified result.
func (s *Server) apiRun(w http.ResponseWriter, r *http.Request) {
	var in localipc.RunCall
	if !decode(w, r, &in) {
		return
	}
	if in.Fix == "" || len(in.Fix) > 64 {
		writeError(w, http.StatusBadRequest, `say which fix to run: {"fix": "clear-temp"}`)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RunTimeout)
	defer cancel()
	res, err := s.agent.Run(ctx, in)
	if err != nil {
		s.agentError(w, string(localipc.OpRun), err)
		return
	}
	ss := sessionFrom(r)
	ss.mu.Lock()
	if len(ss.runs) < wire.MaxSelfHelpRun {
		ss.runs = append(ss.runs, wire.TriedFix{Fix: in.Fix, Outcome: res.Outcome, Reason: localipc.Clip(res.Reason, 500),
			Time: time.Now().UTC()})
	}
	ss.mu.Unlock()
	writeJSON(w, http.StatusOK, res)
}

type helpCall struct {
	Text       string `json:"text"`
	Category   string `json:"category,omitempty"`
	Screenshot []byte `json:"screenshot,omitempty"`
	// Template and Answers make it a service request (GET /api/templates);
	// Text is then an optional note.
	Template string            `json:"template,omitempty"`
	Answers  map[string]string `json:"answers,omitempty"`
}

// apiSoftware lists the signed software catalog the user may install
// from (installing is POST /api/run with fix install-software).
func (s *Server) apiSoftware(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.callCtx(r.Context())
	defer cancel()
	out, err := s.agent.Software(ctx)
	writeAnswer(s, w, string(localipc.OpSoftware), out, err)
}

// apiProgress is the latest progress step of the user's own fix run (an
// install the page waits for).
func (s *Server) apiProgress(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.callCtx(r.Context())
	defer cancel()
	out, err := s.agent.Progress(ctx)
	writeAnswer(s, w, string(localipc.OpProgress), out, err)
}

// apiTemplates lists the service request templates the user can file.
func (s *Server) apiTemplates(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.callCtx(r.Context())
	defer cancel()
	out, err := s.agent.Templates(ctx)
	if err == nil && out.Templates == nil {
		out.Templates = []wire.RequestTemplate{}
	}
	writeAnswer(s, w, string(localipc.OpTemplates), out, err)
}

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// apiHelp files the ticket with what the session tried.
func (s *Server) apiHelp(w http.ResponseWriter, r *http.Request) {
	var in helpCall
	if !decode(w, r, &in) {
		return
	}
	in.Text = strings.TrimSpace(in.Text)
	switch {
	case in.Text == "" && in.Template == "":
		writeError(w, http.StatusBadRequest, "say in a few words what is wrong")
		return
	case len(in.Answers) > 0 && in.Template == "":
		writeError(w, http.StatusBadRequest, "answers need the request form they belong to (template)")
		return
	case wire.ValidateAnswers(in.Answers) != nil:
		writeError(w, http.StatusBadRequest, "the answers are not valid: "+wire.ValidateAnswers(in.Answers).Error())
		return
	case len(in.Text) > wire.MaxHelpText:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("the text is longer than %d characters; shorten it", wire.MaxHelpText))
		return
	case in.Category != "" && !validCategory(in.Category):
		writeError(w, http.StatusBadRequest, "unknown category "+clip(in.Category)+"; use one of "+strings.Join(wire.HelpCategories, ", "))
		return
	case len(in.Screenshot) > MaxScreenshot:
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the screenshot is larger than %d KiB; attach a smaller one", MaxScreenshot>>10))
		return
	case len(in.Screenshot) > 0 && !bytes.HasPrefix(in.Screenshot, pngMagic):
		writeError(w, http.StatusBadRequest, "the screenshot must be a PNG image")
		return
	}
	// Offline, the agent saves the request at once; online it waits a
	// little for the hub's ticket number.
	wait := 10 * time.Second
	sctx, cancelStatus := s.callCtx(r.Context())
	if st, err := s.agent.Status(sctx); err == nil && !st.Connected {
		wait = time.Millisecond
	}
	cancelStatus()
	ss := sessionFrom(r)
	ss.mu.Lock()
	if ss.requestID == "" {
		ss.requestID = wire.NewID()
	}
	if in.Category != "" {
		ss.category = in.Category
	}
	call := localipc.HelpCall{RequestID: ss.requestID, Text: in.Text, Category: in.Category, Screenshot: in.Screenshot, Wait: wait,
		Template: in.Template, Answers: in.Answers,
		Tried: wire.SelfHelp{Articles: append([]string(nil), ss.articles...), Runs: append([]wire.TriedFix(nil), ss.runs...)}}
	ss.mu.Unlock()
	ctx, cancel := context.WithTimeout(r.Context(), 60*time.Second)
	defer cancel()
	out, err := s.agent.Help(ctx, call)
	if err != nil {
		s.agentError(w, string(localipc.OpHelp), err)
		return
	}
	ss.mu.Lock()
	ss.ticket = true
	ss.requestID = "" // a further request is a new ticket
	ss.recorded = false
	ss.mu.Unlock()
	s.recordSession(r.Context(), ss)
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiTickets(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.callCtx(r.Context())
	defer cancel()
	out, err := s.agent.Tickets(ctx, localipc.TicketsCall{})
	writeAnswer(s, w, string(localipc.OpTickets), out, err)
}

func (s *Server) apiReply(w http.ResponseWriter, r *http.Request) {
	var in struct {
		TicketID string `json:"ticket_id"`
		Text     string `json:"text"`
	}
	if !decode(w, r, &in) {
		return
	}
	in.Text = strings.TrimSpace(in.Text)
	if in.TicketID == "" || in.Text == "" {
		writeError(w, http.StatusBadRequest, "write a reply first")
		return
	}
	if len(in.Text) > wire.MaxReplyText {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("the reply is longer than %d characters; shorten it", wire.MaxReplyText))
		return
	}
	ctx, cancel := s.callCtx(r.Context())
	defer cancel()
	out, err := s.agent.Reply(ctx, wire.UserReply{TicketID: in.TicketID, Text: in.Text})
	writeAnswer(s, w, string(localipc.OpReply), out, err)
}

func (s *Server) apiSurvey(w http.ResponseWriter, r *http.Request) {
	var in wire.SurveyAnswer
	if !decode(w, r, &in) {
		return
	}
	if in.TicketID == "" || in.Score < 1 || in.Score > 5 {
		writeError(w, http.StatusBadRequest, "choose a score from 1 to 5")
		return
	}
	ctx, cancel := s.callCtx(r.Context())
	defer cancel()
	out, err := s.agent.Survey(ctx, in)
	writeAnswer(s, w, string(localipc.OpSurvey), out, err)
}

func (s *Server) apiConsentPending(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.callCtx(r.Context())
	defer cancel()
	out, err := s.agent.ConsentPending(ctx)
	writeAnswer(s, w, string(localipc.OpConsentPending), out, err)
}

func (s *Server) apiConsentAnswer(w http.ResponseWriter, r *http.Request) {
	var in localipc.ConsentAnswerCall
	if !decode(w, r, &in) {
		return
	}
	if in.RunID == "" {
		writeError(w, http.StatusBadRequest, "say which request you answer (run_id)")
		return
	}
	ctx, cancel := s.callCtx(r.Context())
	defer cancel()
	out, err := s.agent.ConsentAnswer(ctx, in)
	writeAnswer(s, w, string(localipc.OpConsentAnswer), out, err)
}

// apiLeave is the page saying goodbye: the session is recorded now.
func (s *Server) apiLeave(w http.ResponseWriter, r *http.Request) {
	ss := sessionFrom(r)
	s.recordSession(r.Context(), ss)
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// recordSession tells the agent about a session once: what was shown and
// run, and whether it ended in a ticket.
func (s *Server) recordSession(ctx context.Context, ss *session) {
	ss.mu.Lock()
	if ss.recorded {
		ss.mu.Unlock()
		return
	}
	ss.recorded = true
	fixes := make([]string, 0, len(ss.runs))
	for _, r := range ss.runs {
		fixes = append(fixes, r.Fix)
	}
	call := localipc.SessionCall{SessionID: ss.id, Started: ss.started, Category: ss.category, Ticket: ss.ticket, FixesRun: fixes,
		Articles: append([]string(nil), ss.articles...), Failing: append([]string(nil), ss.failing...)}
	ss.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := s.agent.Session(ctx, call); err != nil {
		s.log.Info("could not record the Get help session", "session", ss.id, "err", err)
	}
}

func validCategory(c string) bool { return slices.Contains(wire.HelpCategories, c) }

func clip(s string) string { return fmt.Sprintf("%q", localipc.Clip(s, 32)) }
