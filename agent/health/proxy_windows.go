package health

import (
	"context"
	"time"

	"github.com/tierline/tierline/agent/execx"
)

// proxySettings reads the service's environment and the machine's WinHTTP
// proxy (what services and the agent itself use).
func proxySettings(ctx context.Context, _ *Config, getenv func(string) string, _ *proxyFiles) ([]proxySetting, error) {
	var out []proxySetting
	for _, k := range proxyVars {
		if a, ok := proxyAddr(getenv(k)); ok {
			out = append(out, proxySetting{Source: "the agent's environment", Var: k, Addr: a})
		}
	}
	res, err := execx.Output(ctx, 10*time.Second, 64<<10, "netsh", "winhttp", "show", "proxy")
	if err != nil {
		return out, err
	}
	return append(out, parseWinHTTPProxy(res)...), nil
}
