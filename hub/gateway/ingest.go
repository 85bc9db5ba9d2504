package gateway

import (
	"context"
	"hash/fnv"
	"time"

	"github.com/tierline/tierline/hub/store"
)

type pending struct {
	item store.IngestItem
	conn *agentConn
	typ  string
	// answers is the CheckRequest id a Health message answers, if any.
	answers string
}

// enqueue queues a message for its device's ingestLoop. When the queue is
// full, the connection's reader waits here, and says so for its pings.
func (g *Gateway) enqueue(ctx context.Context, p pending) {
	q := g.ingestQ[ingestShard(p.item.DeviceID, len(g.ingestQ))]
	select {
	case q <- p:
		return
	default:
	}
	p.conn.ingestWaits.Add(1)
	p.conn.ingestWaiting.Store(true)
	defer p.conn.ingestWaiting.Store(false)
	select {
	case q <- p:
	case <-ctx.Done():
	}
}

// ingestShard is the ingest queue of a device's messages, of n.
func ingestShard(device string, n int) int {
	if n == 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(device))
	return int(h.Sum32() % uint32(n))
}

// ingestLoop group-commits the messages of one queue: it takes whatever
// is queued (up to MaxBatch) into one transaction, then acknowledges each
// message to its connection. Messages of one device stay in order because
// one reader per device queues them, all to one queue, and one loop
// commits that queue. Loops of different queues touch different devices'
// rows, so their transactions do not wait for each other (the other
// replicas' and the presence batches lock rows in id order too).
func (g *Gateway) ingestLoop(ctx context.Context, q <-chan pending) {
	batch := make([]pending, 0, g.cfg.MaxBatch)
	items := make([]store.IngestItem, 0, g.cfg.MaxBatch)
	for {
		batch, items = batch[:0], items[:0]
		select {
		case <-ctx.Done():
			return
		case p := <-q:
			batch = append(batch, p)
		}
	fill:
		for len(batch) < g.cfg.MaxBatch {
			select {
			case p := <-q:
				batch = append(batch, p)
			default:
				break fill
			}
		}
		for _, p := range batch {
			items = append(items, p.item)
		}
		start := time.Now()
		results, err := g.commit(ctx, items)
		if err != nil {
			// Nothing is acknowledged; the agents still hold these messages
			// in their spools and send them again after reconnecting.
			g.log.Error("ingest transaction failed; closing the affected connections so agents resend", "err", err, "messages", len(batch))
			for _, p := range batch {
				p.conn.close(1011, "hub could not store messages")
			}
			continue
		}
		g.metrics.commit.Observe(time.Since(start).Seconds())
		g.metrics.batchSize.Observe(float64(len(batch)))
		for i, p := range batch {
			outcome := "stored"
			switch {
			case p.item.Kind == store.KindRejected:
				outcome = "rejected"
			case results[i].Err != nil:
				outcome = "error"
			case results[i].Duplicate:
				outcome = "duplicate"
			}
			g.metrics.messages.WithLabelValues(p.typ, outcome).Inc()
			if results[i].Err == nil {
				p.conn.acked(p.item.Seq)
			}
			if r := results[i].RunDone; r != nil {
				g.runFinished(*r)
			}
			if p.answers != "" && results[i].Err == nil {
				g.checks.answer(p.answers, p.item.Checks)
			}
		}
	}
}

// commit retries a failed transaction briefly: SQLite may be busy with an
// admin command in another process.
func (g *Gateway) commit(ctx context.Context, items []store.IngestItem) ([]store.IngestResult, error) {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var res []store.IngestResult
		if res, err = g.cfg.Store.Ingest(ctx, items); err == nil {
			return res, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 100 * time.Millisecond):
		}
	}
	return nil, err
}

// presenceLoop records connects and disconnects off the connection path,
// a batch per transaction, so a reconnect storm does not queue thousands
// of commits in front of ingest.
func (g *Gateway) presenceLoop(ctx context.Context) {
	batch := make([]store.Presence, 0, 1000)
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return
		case ev := <-g.presence:
			batch = append(batch, ev)
		}
	fill:
		for len(batch) < cap(batch) {
			select {
			case ev := <-g.presence:
				batch = append(batch, ev)
			default:
				break fill
			}
		}
		if err := g.cfg.Store.SetPresence(ctx, batch); err != nil && ctx.Err() == nil {
			g.log.Warn("record device presence", "devices", len(batch), "err", err)
		}
		g.presenceRecorded(ctx, batch)
	}
}

// presenceRecorded sends the devices of a presence batch that are
// connected here what the store holds for them: queued fix runs and
// ticket updates. Not before: until the store names this replica as a
// device's holder, a run or update stored through another replica finds
// no holder to tell (a reconnect storm can hold presence back for
// minutes), so this read is the one that sees it.
func (g *Gateway) presenceRecorded(ctx context.Context, batch []store.Presence) {
	seen := make(map[string]bool, len(batch))
	for _, ev := range batch {
		if !ev.Online || seen[ev.ID] {
			continue
		}
		seen[ev.ID] = true
		g.mu.Lock()
		c := g.conns[ev.ID]
		g.mu.Unlock()
		if c == nil {
			continue // gone again: its next connection reads its queue
		}
		go g.sendPending(ctx, c)
		go c.sendCatchUp(ctx)
	}
}
