package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/wire"
)

// DeviceDesk takes the device's side of tickets: help requests become
// tickets, users' replies and survey answers go onto them, Get help
// sessions are counted. The gateway calls it before acknowledging the
// message, so it must be idempotent: a message can arrive twice (once
// before a lost acknowledgement, once replayed from the agent's spool).
type DeviceDesk interface {
	FileHelp(ctx context.Context, deviceID, hostname string, req wire.HelpRequest) (wire.HelpReceipt, error)
	UserReply(ctx context.Context, deviceID string, r wire.UserReply) error
	SurveyAnswer(ctx context.Context, deviceID string, a wire.SurveyAnswer) error
	HelpSession(ctx context.Context, deviceID string, h wire.HelpSession) error
	// SearchKB answers a device's Tier 0 knowledge-base search: published
	// articles only, ranked by the device's failing checks, then the text.
	SearchKB(ctx context.Context, deviceID string, q wire.KBQuery) (wire.KBResults, error)
	// RequestTemplates lists the service request templates the device's
	// Get help page offers.
	RequestTemplates(ctx context.Context, deviceID string) ([]wire.RequestTemplate, error)
	// CatchUp lists the ticket updates a device that has just connected
	// should hear again: what it may have missed while offline or
	// connected to another hub. The agent keeps each once.
	CatchUp(ctx context.Context, deviceID string) ([]wire.TicketUpdate, error)
}

// catchUpTimeout bounds reading and sending a device's catch-up.
const catchUpTimeout = 30 * time.Second

// sendCatchUp sends a newly connected device its tickets' recent updates.
func (c *agentConn) sendCatchUp(ctx context.Context) {
	desk := c.g.cfg.DeviceDesk
	if desk == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, catchUpTimeout)
	defer cancel()
	ups, err := desk.CatchUp(ctx, c.deviceID)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("ticket updates for a connecting device not read; it hears of new ones only", "err", err)
		}
		return
	}
	for _, u := range ups {
		if err := c.write(ctx, u); err != nil {
			c.log.Info("ticket catch-up not delivered", "err", err)
			return
		}
	}
}

// kbTimeout bounds one knowledge-base search or template listing; the
// agent waits about 3 s.
const kbTimeout = 3 * time.Second

// handleKBQuery answers a kb_query (unsequenced: a question, not a record).
func (c *agentConn) handleKBQuery(ctx context.Context, env wire.Envelope) error {
	q, err := wire.DecodeBody[wire.KBQuery](env)
	return c.answer(ctx, env, err, "knowledge-base search", func(ctx context.Context, desk DeviceDesk) (wire.Body, error) {
		res, err := desk.SearchKB(ctx, c.deviceID, q)
		res.QueryID = q.QueryID
		return res, err
	})
}

// handleTemplatesQuery answers a templates_query, as handleKBQuery.
func (c *agentConn) handleTemplatesQuery(ctx context.Context, env wire.Envelope) error {
	q, err := wire.DecodeBody[wire.TemplatesQuery](env)
	return c.answer(ctx, env, err, "request template listing", func(ctx context.Context, desk DeviceDesk) (wire.Body, error) {
		list, err := desk.RequestTemplates(ctx, c.deviceID)
		return wire.TemplateList{QueryID: q.QueryID, Templates: list}, err
	})
}

// answer answers a device's question (decoded with decodeErr) off the
// read loop, one at a time per connection; a question arriving while
// another is being answered is refused as busy, and the agent answers
// from its cache.
func (c *agentConn) answer(ctx context.Context, env wire.Envelope, decodeErr error, what string,
	ask func(ctx context.Context, desk DeviceDesk) (wire.Body, error)) error {
	desk := c.g.cfg.DeviceDesk
	if desk == nil {
		err := wire.Errorf(wire.CodeUnexpected, "this hub does not take %s messages", env.Type)
		c.sendError(err.Code, err.Message, 0)
		return err
	}
	if decodeErr != nil {
		c.sendError(wire.CodeOf(decodeErr), errMessage(decodeErr), 0)
		return decodeErr
	}
	if !c.kbBusy.CompareAndSwap(false, true) {
		c.sendError(wire.CodeUnexpected, "busy: a "+what+" from this device is already in progress", 0)
		return nil
	}
	go func() {
		defer c.kbBusy.Store(false)
		qctx, cancel := context.WithTimeout(ctx, kbTimeout)
		defer cancel()
		res, err := ask(qctx, desk)
		if err != nil {
			c.log.Warn(what+" failed", "err", err)
			c.sendError(wire.CodeUnexpected, "the "+what+" failed on the hub", 0)
			return
		}
		if err := c.write(ctx, res); err != nil {
			c.log.Info(what+" not delivered", "err", err)
		}
	}()
	return nil
}

// ErrRefused wraps a DeviceDesk error that will never succeed (bad request,
// a ticket that is not this device's): the message is refused and
// acknowledged. Any other error leaves it unacknowledged, to be replayed.
var ErrRefused = errors.New("refused")

// handleHelp handles a help-flow message synchronously: the desk's write
// is committed before the message's sequence number is queued for
// acknowledgement behind the device's earlier messages.
func (c *agentConn) handleHelp(ctx context.Context, env wire.Envelope) error {
	desk := c.g.cfg.DeviceDesk
	if desk == nil {
		return wire.Errorf(wire.CodeUnexpected, "this hub does not take %s messages", env.Type)
	}
	var err error
	switch env.Type {
	case wire.TypeHelpRequest:
		var req wire.HelpRequest
		if req, err = wire.DecodeBody[wire.HelpRequest](env); err != nil {
			return err
		}
		var receipt wire.HelpReceipt
		if receipt, err = desk.FileHelp(ctx, c.deviceID, c.hostname, req); err == nil {
			if werr := c.write(ctx, receipt); werr != nil {
				c.log.Info("help receipt not delivered; the ticket stands", "err", werr)
			}
		}
	case wire.TypeUserReply:
		var r wire.UserReply
		if r, err = wire.DecodeBody[wire.UserReply](env); err != nil {
			return err
		}
		err = desk.UserReply(ctx, c.deviceID, r)
	case wire.TypeSurveyAnswer:
		var a wire.SurveyAnswer
		if a, err = wire.DecodeBody[wire.SurveyAnswer](env); err != nil {
			return err
		}
		err = desk.SurveyAnswer(ctx, c.deviceID, a)
	case wire.TypeHelpSession:
		var h wire.HelpSession
		if h, err = wire.DecodeBody[wire.HelpSession](env); err != nil {
			return err
		}
		err = desk.HelpSession(ctx, c.deviceID, h)
	}
	if errors.Is(err, ErrRefused) {
		return wire.Errorf(wire.CodeBadBody, "%v", err)
	}
	if err != nil {
		// Not acknowledged: the agent sends it again after reconnecting.
		c.log.Error("tickets could not take a message; closing so the agent resends it", "type", env.Type, "err", err)
		c.close(1011, "hub could not store the message")
		return errTransient
	}
	c.g.enqueue(ctx, pending{item: store.IngestItem{DeviceID: c.deviceID, Seq: env.Seq, Kind: store.KindHandled, Received: c.g.cfg.Now()},
		conn: c, typ: string(env.Type)})
	return nil
}

var errTransient = errors.New("transient ticket store error")
