package api

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"strconv"

	"github.com/tierline/tierline/hub/store"
)

// attachmentsStore is what the attachment routes read: the files that
// came with the mails of email tickets (hub/mailin).
type attachmentsStore interface {
	GetTicket(ctx context.Context, id string) (store.Ticket, error)
	TicketAttachments(ctx context.Context, ticketID string) ([]store.Attachment, error)
	TicketAttachment(ctx context.Context, ticketID, id string) (store.Attachment, error)
}

func (a *API) attachmentRoutes() []Route {
	return []Route{
		{"GET /api/v1/tickets/{id}/attachments", store.RoleTier1, a.listAttachments},
		{"GET /api/v1/tickets/{id}/attachments/{att}", store.RoleTier1, a.getAttachment},
	}
}

// listAttachments lists a ticket's attachments, kept and dropped, each
// kept one with the path it downloads from.
func (a *API) listAttachments(w http.ResponseWriter, r *http.Request, who Caller) {
	id := r.PathValue("id")
	if _, err := a.attachments.GetTicket(r.Context(), id); err != nil {
		a.ticketError(w, r, err)
		return
	}
	list, err := a.attachments.TicketAttachments(r.Context(), id)
	if err != nil {
		a.ticketError(w, r, err)
		return
	}
	type item struct {
		store.Attachment
		Download string `json:"download,omitempty"`
	}
	out := make([]item, 0, len(list))
	for _, at := range list {
		it := item{Attachment: at}
		if at.Dropped == "" {
			it.Download = "/api/v1/tickets/" + id + "/attachments/" + at.ID
		}
		out = append(out, it)
	}
	writeJSON(w, http.StatusOK, map[string]any{"attachments": out})
}

// getAttachment serves one kept attachment. It is bytes from a stranger's
// mail: always a download (never shown inline), as
// application/octet-stream, with nosniff and a sandbox.
func (a *API) getAttachment(w http.ResponseWriter, r *http.Request, who Caller) {
	id, attID := r.PathValue("id"), r.PathValue("att")
	at, err := a.attachments.TicketAttachment(r.Context(), id, attID)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no kept attachment "+attID+" on this ticket; list them with GET /api/v1/tickets/"+id+"/attachments")
		return
	}
	if err != nil {
		a.ticketError(w, r, err)
		return
	}
	a.audit(r, who, "ticket.attachment.download", id, "ok", map[string]any{"attachment": at.ID, "name": at.Name})
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": at.Name}))
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Content-Length", strconv.Itoa(len(at.Data)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(at.Data)
}
