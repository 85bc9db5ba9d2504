package gethelp

import (
	"fmt"
	"time"

	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/shared/ratelimit"
)

// Default limits of help requests (agent run --help-limit and
// --help-device-limit). They sit below the hub's budget for one device
// (10 an hour), so an honest agent's users hear the limit from the agent,
// with the time they can ask again, before the hub refuses anything.
var (
	DefaultHelpPerUser   = ratelimit.Limit{N: 4, Per: time.Hour}
	DefaultHelpPerDevice = ratelimit.Limit{N: 8, Per: time.Hour}
)

// Limits bound how often help requests are filed: per local user and for
// the whole computer. A zero Limit is no limit.
type Limits struct {
	PerUser, PerDevice ratelimit.Limit
}

// deviceKey is the one key of the per-device limiter.
const deviceKey = ""

// admit spends one help request of user's budget and the computer's, or
// says when user can ask again. A request already pending (the same id
// sent again after a lost answer) was paid for.
func (d *Desk) admit(user, requestID string, now time.Time) error {
	d.mu.Lock()
	_, pending := d.requesters[requestID]
	d.mu.Unlock()
	if pending {
		return nil
	}
	if ok, at := d.perDevice.Allow(deviceKey, now); !ok {
		d.log.Warn("help request refused: this computer is over its limit", "user", user, "limit", d.perDevice.Limit().String())
		return localipc.Limited("This computer has already sent the help desk as many requests as it may (%s). You can ask again %s. "+
			"Your open tickets are under My tickets: a reply on one reaches its technician.", d.perDevice.Limit().Describe(), AskAgain(at, now))
	}
	if ok, at := d.perUser.Allow(user, now); !ok {
		d.perDevice.Refund(deviceKey, now)
		d.log.Warn("help request refused: the user is over its limit", "user", user, "limit", d.perUser.Limit().String())
		return localipc.Limited("You have already asked for help as often as one person may from this computer (%s). You can ask again %s. "+
			"Your open tickets are under My tickets: a reply on one reaches its technician.", d.perUser.Limit().Describe(), AskAgain(at, now))
	}
	return nil
}

// AskAgain says when, in the computer's local time: "at 10:42 (in 12
// minutes)".
func AskAgain(at, now time.Time) string {
	wait := at.Sub(now)
	if wait <= 0 {
		return "now"
	}
	m := int((wait + time.Minute - 1) / time.Minute)
	in := fmt.Sprintf("in %d minutes", m)
	switch {
	case wait < time.Minute:
		in = "in less than a minute"
	case m == 1:
		in = "in a minute"
	case m >= 120:
		in = fmt.Sprintf("in %d hours", (m+59)/60)
	}
	layout := "15:04"
	if y1, d1 := at.Local().YearDay(), now.Local().YearDay(); y1 != d1 {
		layout = "Mon 15:04"
	}
	return fmt.Sprintf("at %s (%s)", at.Local().Format(layout), in)
}
