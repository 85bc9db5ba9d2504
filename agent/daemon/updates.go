package daemon

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/tierline/tierline/agent/identity"
	"github.com/tierline/tierline/agent/update"
	"github.com/tierline/tierline/agent/version"
)

// agentUpdates ties the updater to Run.
type agentUpdates struct {
	u      *update.Updater
	log    *slog.Logger
	cancel context.CancelFunc
}

// envDuration reads a duration from the environment; "0" or "off" gives 0.
func envDuration(name string, def time.Duration, log *slog.Logger) time.Duration {
	v := os.Getenv(name)
	switch v {
	case "":
		return def
	case "0", "off":
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		log.Warn("ignoring a bad duration", "variable", name, "value", v, "hint", "use e.g. 1h or off")
		return def
	}
	return d
}

// startUpdates sets up signed updates for Run: it handles an update left
// pending by the previous process and starts the periodic check. The
// returned context ends when the agent must restart into another version.
// TIERLINE_UPDATE_INTERVAL (default 1h, "off" disables checks) and
// TIERLINE_UPDATE_CONFIRM_TIMEOUT (default 5m) tune it.
func startUpdates(ctx context.Context, state string, id *identity.Identity, log *slog.Logger) (context.Context, *agentUpdates) {
	log = log.With("component", "update")
	au := &agentUpdates{log: log}
	ctx, au.cancel = context.WithCancel(ctx)
	interval := envDuration("TIERLINE_UPDATE_INTERVAL", update.DefaultInterval, log)
	u, err := update.New(update.Config{
		StateDir: state, Current: version.Version, HubURL: id.HubURL, DeviceID: id.DeviceID, Key: id.Key,
		TLS: id.TLSConfig(), Interval: interval, Logger: log,
		ConfirmTimeout: envDuration("TIERLINE_UPDATE_CONFIRM_TIMEOUT", update.DefaultConfirmTimeout, log),
	})
	if err != nil {
		log.Error("updates are off", "err", err)
		return ctx, au
	}
	au.u = u
	if err := u.Start(); err != nil {
		log.Error("pending update", "err", err)
	}
	go func() {
		select {
		case <-u.Restart():
			au.cancel()
		case <-ctx.Done():
		}
	}()
	if ok, why := u.Enabled(); !ok {
		log.Info("updates are off", "reason", why)
	} else if interval > 0 {
		go u.Run(ctx)
	}
	return ctx, au
}

// connected is the link's OnConnect: it confirms a pending update.
func (au *agentUpdates) connected() {
	if au.u != nil {
		au.u.Connected()
	}
}

func (au *agentUpdates) restartRequested() bool {
	if au.u == nil {
		return false
	}
	select {
	case <-au.u.Restart():
		return true
	default:
		return false
	}
}

// stop ends the periodic check.
func (au *agentUpdates) stop() { au.cancel() }

// restart is Run's answer after a clean stop when an update asks for a
// restart: a *RestartError for the service manager, or (in the
// foreground) this process replaced by the installed binary.
func (au *agentUpdates) restart(serviceManaged bool) error {
	if !au.restartRequested() {
		return nil
	}
	exe, reason := au.u.Executable(), au.u.Reason()
	if serviceManaged {
		au.log.Info("exiting so the service manager starts the installed version", "status", 75, "reason", reason)
		return &RestartError{Executable: exe, Reason: reason}
	}
	au.log.Info("restarting in place", "reason", reason, "exe", exe)
	err := execSelf(exe, os.Args, os.Environ())
	au.log.Error("restart into the installed version failed; start the agent again", "exe", exe, "err", err)
	return nil
}
