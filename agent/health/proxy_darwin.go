package health

import (
	"context"
	"time"

	"github.com/tierline/tierline/agent/execx"
)

// proxySettings adds the system proxies (System Settings > Network >
// Proxies, as scutil reports them) to the environment's.
func proxySettings(ctx context.Context, c *Config, getenv func(string) string, pf *proxyFiles) ([]proxySetting, error) {
	out := unixProxySettings(c, getenv, pf)
	res, err := execx.Output(ctx, 5*time.Second, 64<<10, "scutil", "--proxy")
	if err != nil {
		return out, err
	}
	return append(out, parseScutilProxy(res)...), nil
}
