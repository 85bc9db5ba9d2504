package replicas

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/tierline/tierline/hub/gateway"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// The functions below stand in for the gateway's where the hub wires the
// API, the tickets and the console: each serves a device connected here
// at once, and otherwise tells the replica holding it.

// DispatchRun sends a stored run to its device here, or hands it to the
// replica holding the device to send (a run too large for a notification:
// asks that replica to send the device its queue). It reports whether the
// run went out from here.
func (r *Replicas) DispatchRun(ctx context.Context, run store.Run) (bool, error) {
	sent, err := r.cfg.Gateway.DispatchRun(ctx, run)
	if sent || err != nil {
		return sent, err
	}
	m := Message{Kind: KindRuns, Device: run.DeviceID, Queued: &run}
	if !r.fits(m) {
		m.Queued = nil // the holder reads it from the store
	}
	r.sendToHolder(ctx, run.DeviceID, m)
	return false, nil
}

// NotifyDevice sends a ticket update to its device here or through the
// replica holding it; gateway.ErrOffline when it is connected nowhere.
func (r *Replicas) NotifyDevice(ctx context.Context, id string, body wire.Body) error {
	err := r.cfg.Gateway.Notify(ctx, id, body)
	if !errors.Is(err, gateway.ErrOffline) {
		return err
	}
	m := Message{Kind: KindCatchUp, Device: id}
	if u, ok := body.(wire.TicketUpdate); ok {
		if raw, jerr := json.Marshal(u); jerr == nil {
			m = Message{Kind: KindTicketUpdate, Device: id, Update: raw}
		}
	}
	if !r.fits(m) {
		m = Message{Kind: KindCatchUp, Device: id} // too large: the holder reads it from the store
	}
	if r.sendToHolder(ctx, id, m) == "" {
		return err
	}
	return nil
}

// RequestChecks asks the device to run checks now, here or through the
// replica holding it.
func (r *Replicas) RequestChecks(ctx context.Context, id string, names []string) (string, error) {
	rid, err := r.cfg.Gateway.RequestChecks(ctx, id, names)
	if !errors.Is(err, gateway.ErrOffline) {
		return rid, err
	}
	req := wire.CheckRequest{RequestID: wire.NewID(), Names: names}
	if verr := req.Validate(); verr != nil {
		return "", verr
	}
	if r.sendToHolder(ctx, id, Message{Kind: KindChecks, Device: id, Request: req.RequestID, Names: names}) == "" {
		return "", err
	}
	return req.RequestID, nil
}

// Diagnose runs every check of the device now, here or through the
// replica holding it, and returns the results once they are stored; it
// fits tickets.Diagnoser.
func (r *Replicas) Diagnose(ctx context.Context, id string) ([]diag.CheckResult, error) {
	checks, err := r.cfg.Gateway.Diagnose(ctx, id)
	if !errors.Is(err, gateway.ErrOffline) {
		return checks, err
	}
	reqID := wire.NewID()
	ch := make(chan string, 1)
	r.diagMu.Lock()
	r.diagnoses[reqID] = ch
	r.diagMu.Unlock()
	defer func() {
		r.diagMu.Lock()
		delete(r.diagnoses, reqID)
		r.diagMu.Unlock()
	}()
	rep := r.sendToHolder(ctx, id, Message{Kind: KindDiagnose, Device: id, Request: reqID})
	if rep == "" {
		return nil, err
	}
	select {
	case msg := <-ch:
		if msg != "" {
			return nil, fmt.Errorf("replica %s: %s", rep, msg)
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	d, gerr := r.cfg.Store.GetDevice(ctx, id)
	if gerr != nil {
		return nil, gerr
	}
	return d.Health, nil
}

// PolicyChanged sends a group's new policy to the devices here and tells
// every other replica to do the same.
func (r *Replicas) PolicyChanged(ctx context.Context, group string) {
	r.send(ctx, Broadcast, Message{Kind: KindPolicy, Group: group})
	r.cfg.Gateway.PolicyChanged(ctx, group)
}

// GroupChanged tells the device's connection, here or on its replica, its
// new group.
func (r *Replicas) GroupChanged(ctx context.Context, id, group string) {
	if r.cfg.Gateway.IsConnected(id) {
		r.cfg.Gateway.DeviceGroupChanged(ctx, id, group)
		return
	}
	r.sendToHolder(ctx, id, Message{Kind: KindGroup, Device: id, Group: group})
}

// Revoked cuts a revoked device's connection wherever it is. (Each
// replica also polls the store for revocations, so a lost notification
// costs a fraction of a second.)
func (r *Replicas) Revoked(id string) {
	r.cfg.Gateway.Revoked(id)
	r.send(context.Background(), Broadcast, Message{Kind: KindRevoked, Device: id})
}

// IsConnected reports whether the device, as just read from the store,
// is connected here or to another replica (its row names the replica
// holding it; the row of a replica whose lease lapsed is reset by the
// others). The row answers without another query.
func (r *Replicas) IsConnected(d store.Device) bool {
	if r.cfg.Gateway.IsConnected(d.ID) {
		return true
	}
	return d.Online && d.Replica != "" && d.Replica != r.cfg.ID
}

// RunFinished tells the other replicas a run's result (or expiry) is
// stored: their API callers waiting for it answer, their console pages
// update. It fits the gateway's OnRunFinished.
func (r *Replicas) RunFinished(run store.Run) {
	r.send(context.Background(), Broadcast, Message{Kind: KindRun, Run: run.ID, Device: run.DeviceID,
		Ticket: run.Ticket, State: run.State, Outcome: run.Outcome})
}

// RunProgress tells the other replicas' console pages of a progress step
// of a running run, stored here; it fits the gateway's OnRunProgress.
func (r *Replicas) RunProgress(runID string) {
	r.send(context.Background(), Broadcast, Message{Kind: KindRunProgress, Run: runID})
}

// TicketChanged tells the other replicas' console pages of a ticket
// change made here; it subscribes to the ticket changes bus.
func (r *Replicas) TicketChanged(c tickets.Change) {
	m := Message{Kind: KindTicket, Ticket: c.Ticket.ID}
	for _, e := range c.Events {
		m.Events = append(m.Events, e.ID)
	}
	if !r.fits(m) {
		m.Events = nil // many events: the pages reload the ticket anyway
	}
	r.send(context.Background(), Broadcast, m)
}

// Notified rings a user's bell on this replica's pages and the others';
// it fits hub/notify's Config.Notified.
func (r *Replicas) Notified(u store.User, n store.Notification, unread int) {
	r.cfg.Console.PublishNotification(u, n, unread)
	r.send(context.Background(), Broadcast, Message{Kind: KindBell, User: u.Name, ID: n.ID, Event: n.Event,
		Title: wire.Clip(n.Title, 300), Link: wire.Clip(n.Link, 300), Unread: unread})
}

// NotificationsRead sets a user's bell on every replica's pages after
// they read notifications on one; it fits the API's NotificationsRead.
func (r *Replicas) NotificationsRead(user string, unread int) {
	r.cfg.Console.PublishUnread(user, unread)
	r.send(context.Background(), Broadcast, Message{Kind: KindUnread, User: user, Unread: unread})
}

// handle acts on a message from another replica.
func (r *Replicas) handle(ctx context.Context, m Message) {
	gw := r.cfg.Gateway
	switch m.Kind {
	case KindRuns:
		if m.Queued == nil {
			gw.SendPendingRuns(ctx, m.Device)
			return
		}
		// Sent if the device is still here; if it has moved on, the run
		// waits in the store for its next connection.
		if _, err := gw.DispatchRun(ctx, *m.Queued); err != nil {
			r.log.Info("fix run from another replica not delivered; it goes at the device's next connection", "run", m.Queued.ID, "err", err)
		}
	case KindCatchUp:
		gw.SendCatchUp(ctx, m.Device)
	case KindTicketUpdate:
		var u wire.TicketUpdate
		if err := json.Unmarshal(m.Update, &u); err != nil || u.Validate() != nil {
			gw.SendCatchUp(ctx, m.Device)
			return
		}
		if err := gw.Notify(ctx, m.Device, u); err != nil && !errors.Is(err, gateway.ErrOffline) {
			r.log.Info("ticket update from another replica not delivered", "device", m.Device, "err", err)
		}
	case KindChecks:
		if err := gw.RequestChecksID(ctx, m.Device, m.Request, m.Names); err != nil && !errors.Is(err, gateway.ErrOffline) {
			r.log.Info("check request from another replica not delivered", "device", m.Device, "err", err)
		}
	case KindDiagnose:
		dctx, cancel := context.WithTimeout(ctx, tickets.DiagnoseTimeout)
		_, err := gw.DiagnoseID(dctx, m.Device, m.Request)
		cancel()
		answer := Message{Kind: KindDiagnosed, Device: m.Device, Request: m.Request}
		if err != nil {
			answer.Error = wire.Clip(err.Error(), 200)
		}
		r.send(ctx, Channel(m.From), answer)
	case KindDiagnosed:
		r.diagMu.Lock()
		ch := r.diagnoses[m.Request]
		r.diagMu.Unlock()
		if ch != nil {
			select {
			case ch <- m.Error:
			default:
			}
		}
	case KindBell:
		r.cfg.Console.PublishNotification(store.User{Name: m.User}, store.Notification{ID: m.ID, Event: m.Event, Title: m.Title, Link: m.Link}, m.Unread)
	case KindUnread:
		r.cfg.Console.PublishUnread(m.User, m.Unread)
	case KindGroup:
		gw.DeviceGroupChanged(ctx, m.Device, m.Group)
	case KindPolicy:
		gw.PolicyChanged(ctx, m.Group)
	case KindRevoked:
		gw.Revoked(m.Device)
	case KindRun, KindRunProgress:
		if m.Kind == KindRun {
			gw.RunStoredElsewhere(m.Run)
			if m.Device != "" {
				r.cfg.Console.PublishRun(store.Run{ID: m.Run, DeviceID: m.Device, Ticket: m.Ticket, State: m.State, Outcome: m.Outcome})
				return
			}
		}
		run, err := r.cfg.Store.GetRun(ctx, m.Run)
		if err != nil {
			r.log.Warn("read a run another replica finished", "run", m.Run, "err", err)
			return
		}
		r.cfg.Console.PublishRun(run)
	case KindTicket:
		t, err := r.cfg.Store.GetTicket(ctx, m.Ticket)
		if err != nil {
			r.log.Warn("read a ticket another replica changed", "ticket", m.Ticket, "err", err)
			return
		}
		c := tickets.Change{Ticket: t}
		if len(m.Events) > 0 {
			evs, err := r.cfg.Store.TicketEvents(ctx, m.Ticket)
			if err != nil {
				r.log.Warn("read a ticket's events another replica added", "ticket", m.Ticket, "err", err)
			}
			for _, e := range evs {
				if slices.Contains(m.Events, e.ID) {
					c.Events = append(c.Events, e)
				}
			}
		}
		r.cfg.Console.PublishTicket(c)
	}
}
