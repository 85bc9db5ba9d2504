package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/tierline/tierline/hub/recipes"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/shared/catalog"
)

// SoftwareDecision is the body of POST /api/v1/tickets/{id}/software: a
// technician's answer to a software request (a ticket filed from a
// request template that names a software catalog entry).
type SoftwareDecision struct {
	Approve *bool  `json:"approve"`
	Note    string `json:"note,omitempty"`
}

// decideSoftware approves a software request, which queues
// install-software for the entry on the ticket's device through the same
// checks as any run (the entry published to the device's group and
// accepted by its agent), or refuses it, which tells the user in a
// message on the ticket and resolves it. Only a technician whose tier
// reaches the ticket's may decide; a request is decided once.
func (a *API) decideSoftware(w http.ResponseWriter, r *http.Request, who Caller) {
	svc, ok := a.ticketService(w)
	if !ok {
		return
	}
	var req SoftwareDecision
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Approve == nil || len(req.Note) > 2000 {
		writeError(w, http.StatusBadRequest, "bad_request", `send {"approve": true or false, "note": "why (at most 2000 bytes; the user reads it when refused)"}`)
		return
	}
	id := r.PathValue("id")
	t, err := a.runs.GetTicket(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no ticket %q", clip(id)))
		return
	} else if err != nil {
		a.internal(w, "get ticket", err)
		return
	}
	refuse := func(status int, code, why string) {
		a.audit(r, who, "software.decide", id, "refused", map[string]any{"reason": why})
		writeError(w, status, code, why)
	}
	entry := ""
	if t.Request != nil {
		entry = t.Request.Software
	}
	switch {
	case entry == "":
		refuse(http.StatusConflict, "not_software_request", "this ticket is not a software request (its request template names no software catalog entry)")
		return
	case t.DeviceID == "":
		refuse(http.StatusConflict, "no_device", "this software request has no device to install on")
		return
	case t.State == store.TicketResolved || t.State == store.TicketClosed:
		refuse(http.StatusConflict, "decided", "this software request is "+t.State+"; reopen it to decide again")
		return
	case RoleTier(who.Role) < t.Tier && who.Role != store.RoleAdmin:
		refuse(http.StatusForbidden, "forbidden", fmt.Sprintf("this request is at tier %d; a technician of tier %d or above approves it", t.Tier, t.Tier))
		return
	}
	prior, err := a.runs.ListRuns(r.Context(), store.RunFilter{Ticket: id})
	if err != nil {
		a.internal(w, "list runs", err)
		return
	}
	for _, run := range prior {
		if run.Fix == catalog.InstallSoftware && run.Outcome != "refused" && run.State != store.RunExpired && run.State != store.RunCancelled {
			refuse(http.StatusConflict, "decided", fmt.Sprintf("the install was already approved (run %s, %s)", run.ID, run.State))
			return
		}
	}
	title := entry
	if sr, found, err := a.lookupSoftware(r.Context(), entry); err == nil && found {
		if e, _, err := recipes.ParsedSoftware(sr); err == nil {
			title = e.Title
		}
	}
	if !*req.Approve {
		text := fmt.Sprintf("Your request to install %s was not approved.", title)
		if req.Note != "" {
			text += " " + req.Note
		}
		if _, err := svc.Message(r.Context(), id, who.Name, tickets.FromTechnician, text); err != nil {
			a.ticketError(w, r, err)
			return
		}
		t, err = svc.Resolve(r.Context(), id, who.Name, "Software request refused: "+title+". "+req.Note)
		if err != nil {
			a.ticketError(w, r, err)
			return
		}
		a.audit(r, who, "software.refuse", id, "ok", map[string]any{"entry": entry, "note": req.Note})
		writeJSON(w, http.StatusOK, map[string]any{"ticket": a.view(svc, t), "approved": false})
		return
	}
	d, err := a.runs.GetDevice(r.Context(), t.DeviceID)
	if err != nil {
		a.internal(w, "get device", err)
		return
	}
	// The approver's role passes: install-software is Tier 0.
	p, ok := a.prepareRun(w, r, who, RunRequest{Fix: catalog.InstallSoftware, Params: rawParams(map[string]string{"entry": entry}), Ticket: id})
	if !ok {
		return
	}
	if why := a.runRefuses(r.Context(), d, p); why != "" {
		refuse(http.StatusUnprocessableEntity, "not_applicable", why)
		return
	}
	run := a.newRun(who, d, p, RunRequest{Ticket: id, ConsentObtained: true}, "")
	ev := a.auditEvent(r, who, "software.approve", id, "ok", map[string]any{"entry": entry, "run": run.ID, "device": d.ID})
	if err := a.runs.CreateRuns(r.Context(), nil, []store.Run{run}, ev); err != nil {
		a.internal(w, "create run", err)
		return
	}
	if a.cfg.DispatchRun != nil {
		if _, err := a.cfg.DispatchRun(r.Context(), run); err != nil {
			a.log.Warn("dispatch run", "run", run.ID, "err", err)
		}
	}
	text := fmt.Sprintf("Your request to install %s was approved; it is being installed on %s now.", title, d.Hostname)
	if req.Note != "" {
		text += " " + req.Note
	}
	if t, err = svc.Message(r.Context(), id, who.Name, tickets.FromTechnician, text); err != nil {
		a.ticketError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"ticket": a.view(svc, t), "approved": true, "run": run})
}

// rawParams is params as a RunRequest carries them.
func rawParams(params map[string]string) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for k, v := range params {
		b, _ := json.Marshal(v)
		out[k] = b
	}
	return out
}
