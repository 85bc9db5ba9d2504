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
	"github.com/tierline/tierline/shared/wire"
)

// Local socket operations the page uses (documented with their bodies in
// agent/localipc/ops.go).
const (
	opStatus         = "status"
	opDiagnose       = "diagnose"
	opFixes          = "fixes"
	opRun            = "run"
	opKB             = "kb"
	opSession        = "session"
	opConsentPending = "consent_pending"
	opConsentAnswer  = "consent_answer"
	opHelp           = "help"
	opTickets        = "tickets"
	opReply          = "reply"
	opSurvey         = "survey"
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
		if len(ss.articles) >= 64 {
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

// call makes one local socket call with the default timeout.
func (s *Server) call(ctx context.Context, op string, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	return localipc.Call(ctx, s.cfg.Socket, op, body, out)
}

// relay answers with the agent's answer to op, as it is.
func (s *Server) relay(w http.ResponseWriter, r *http.Request, op string, body any) {
	var out json.RawMessage
	if err := s.call(r.Context(), op, body, &out); err != nil {
		s.agentError(w, op, err)
		return
	}
	if len(out) == 0 || string(out) == "null" {
		out = json.RawMessage("null")
	}
	writeJSON(w, http.StatusOK, out)
}

// agentError turns a local socket failure into an answer for the page.
func (s *Server) agentError(w http.ResponseWriter, op string, err error) {
	var re *localipc.RemoteError
	switch {
	case errors.Is(err, localipc.ErrNotRunning):
		writeError(w, http.StatusServiceUnavailable, "the Tierline agent is not running on this computer; "+
			"restart the computer or ask your IT department")
	case errors.As(err, &re) && re.Code == "forbidden":
		writeError(w, http.StatusForbidden, re.Message)
	case errors.As(err, &re) && re.Code == "unknown_op":
		writeError(w, http.StatusNotImplemented, "the Tierline agent on this computer is too old for this ("+op+
			"); it updates itself, try again later")
	case errors.As(err, &re) && (re.Code == "bad_request" || re.Code == "too_large"):
		writeError(w, http.StatusBadRequest, re.Message)
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, "the Tierline agent did not answer in time; try again")
	default:
		s.log.Warn("local call failed", "op", op, "err", err)
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

// statusView is the part of the agent's status the server reads.
type statusView struct {
	Failing []struct {
		Name string `json:"name"`
	} `json:"failing"`
}

func (s *Server) apiStatus(w http.ResponseWriter, r *http.Request) {
	var out json.RawMessage
	if err := s.call(r.Context(), opStatus, nil, &out); err != nil {
		s.agentError(w, opStatus, err)
		return
	}
	ss := sessionFrom(r)
	var st statusView
	if json.Unmarshal(out, &st) == nil {
		ss.mu.Lock()
		if !ss.gotStatus {
			ss.gotStatus = true
			for _, f := range st.Failing {
				ss.failing = append(ss.failing, f.Name)
			}
		}
		ss.mu.Unlock()
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiDiagnose(w http.ResponseWriter, r *http.Request) {
	s.relay(w, r, opDiagnose, nil)
}

func (s *Server) apiFixes(w http.ResponseWriter, r *http.Request) {
	s.relay(w, r, opFixes, nil)
}

type kbCall struct {
	Text     string   `json:"text"`
	Checks   []string `json:"checks,omitempty"`
	Category string   `json:"category,omitempty"`
}

type kbAnswer struct {
	Articles []wire.KBArticle `json:"articles"`
	Cached   bool             `json:"cached"`
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
	if len(in.Checks) > 50 {
		in.Checks = in.Checks[:50]
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
	var out kbAnswer
	if err := s.call(r.Context(), opKB, map[string]any{"text": in.Text, "checks": in.Checks}, &out); err != nil {
		s.agentError(w, opKB, err)
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

type runCall struct {
	Fix    string            `json:"fix"`
	Params map[string]string `json:"params,omitempty"`
}

// apiRun runs one fix through the agent and waits for its verified result.
func (s *Server) apiRun(w http.ResponseWriter, r *http.Request) {
	var in runCall
	if !decode(w, r, &in) {
		return
	}
	if in.Fix == "" || len(in.Fix) > 64 {
		writeError(w, http.StatusBadRequest, `say which fix to run: {"fix": "clear-temp"}`)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RunTimeout)
	defer cancel()
	var out json.RawMessage
	if err := localipc.Call(ctx, s.cfg.Socket, opRun, in, &out); err != nil {
		s.agentError(w, opRun, err)
		return
	}
	var res struct {
		Outcome string `json:"outcome"`
		Reason  string `json:"reason"`
	}
	_ = json.Unmarshal(out, &res)
	ss := sessionFrom(r)
	ss.mu.Lock()
	if len(ss.runs) < wire.MaxSelfHelpRun {
		ss.runs = append(ss.runs, wire.TriedFix{Fix: in.Fix, Outcome: res.Outcome, Reason: localipc.Clip(res.Reason, 500),
			Time: time.Now().UTC()})
	}
	ss.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

type helpCall struct {
	Text       string `json:"text"`
	Category   string `json:"category,omitempty"`
	Screenshot []byte `json:"screenshot,omitempty"`
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
	case in.Text == "":
		writeError(w, http.StatusBadRequest, "say in a few words what is wrong")
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
	var st struct {
		Connected bool `json:"connected"`
	}
	if err := s.call(r.Context(), opStatus, nil, &st); err == nil && !st.Connected {
		wait = time.Millisecond
	}
	ss := sessionFrom(r)
	ss.mu.Lock()
	if ss.requestID == "" {
		ss.requestID = wire.NewID()
	}
	if in.Category != "" {
		ss.category = in.Category
	}
	call := map[string]any{
		"request_id": ss.requestID,
		"text":       in.Text,
		"category":   in.Category,
		"tried":      wire.SelfHelp{Articles: append([]string(nil), ss.articles...), Runs: append([]wire.TriedFix(nil), ss.runs...)},
		"wait":       wait,
	}
	if len(in.Screenshot) > 0 {
		call["screenshot"] = in.Screenshot
	}
	ss.mu.Unlock()
	ctx, cancel := context.WithTimeout(r.Context(), 60*time.Second)
	defer cancel()
	var out json.RawMessage
	if err := localipc.Call(ctx, s.cfg.Socket, opHelp, call, &out); err != nil {
		s.agentError(w, opHelp, err)
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
	s.relay(w, r, opTickets, nil)
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
	s.relay(w, r, opReply, map[string]any{"ticket_id": in.TicketID, "text": in.Text})
}

func (s *Server) apiSurvey(w http.ResponseWriter, r *http.Request) {
	var in struct {
		TicketID string `json:"ticket_id"`
		Score    int    `json:"score"`
		Comment  string `json:"comment,omitempty"`
	}
	if !decode(w, r, &in) {
		return
	}
	if in.TicketID == "" || in.Score < 1 || in.Score > 5 {
		writeError(w, http.StatusBadRequest, "choose a score from 1 to 5")
		return
	}
	s.relay(w, r, opSurvey, in)
}

func (s *Server) apiConsentPending(w http.ResponseWriter, r *http.Request) {
	s.relay(w, r, opConsentPending, nil)
}

func (s *Server) apiConsentAnswer(w http.ResponseWriter, r *http.Request) {
	var in struct {
		RunID string `json:"run_id"`
		Allow bool   `json:"allow"`
	}
	if !decode(w, r, &in) {
		return
	}
	if in.RunID == "" {
		writeError(w, http.StatusBadRequest, "say which request you answer (run_id)")
		return
	}
	s.relay(w, r, opConsentAnswer, in)
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
	call := map[string]any{
		"session_id": ss.id,
		"started":    ss.started,
		"category":   ss.category,
		"ticket":     ss.ticket,
		"fixes_run":  fixes,
		"articles":   append([]string(nil), ss.articles...),
		"failing":    append([]string(nil), ss.failing...),
	}
	ss.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := localipc.Call(ctx, s.cfg.Socket, opSession, call, nil); err != nil {
		s.log.Info("could not record the Get help session", "session", ss.id, "err", err)
	}
}

func validCategory(c string) bool { return slices.Contains(wire.HelpCategories, c) }

func clip(s string) string { return fmt.Sprintf("%q", localipc.Clip(s, 32)) }
