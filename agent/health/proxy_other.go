//go:build !windows && !darwin

package health

import "context"

func proxySettings(_ context.Context, c *Config, getenv func(string) string, pf *proxyFiles) ([]proxySetting, error) {
	return unixProxySettings(c, getenv, pf), nil
}
