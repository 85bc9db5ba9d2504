package fixes

import (
	"context"
	"time"

	"github.com/tierline/tierline/agent/execx"
	"github.com/tierline/tierline/agent/netstate"
)

// localLinks are the adapters `netsh interface show interface` lists:
// unlike GetAdaptersAddresses it lists the disabled ones too.
func localLinks() []netstate.Link {
	out, err := execx.Output(context.Background(), 10*time.Second, 64<<10, "netsh", "interface", "show", "interface")
	if err != nil {
		return nil
	}
	return netstate.ParseNetshInterfaces(out)
}
