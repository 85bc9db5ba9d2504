package fixes

import (
	"context"
	"fmt"
	"strconv"

	"github.com/shirou/gopsutil/v4/process"

	"github.com/tierline/tierline/shared/catalog"
)

// ConsentTarget says what exactly a fix asking the user's consent will
// act on, in words for the user: "the program firefox (process 4242, run by
// alice)", "the service cups". "" when the fix's description says it all.
func ConsentTarget(ctx context.Context, fixID string, params map[string]string) string {
	switch fixID {
	case catalog.EndProcess:
		if s := params["pid"]; s != "" {
			pid, err := strconv.ParseInt(s, 10, 32)
			if err != nil {
				return "process " + s
			}
			p, err := process.NewProcessWithContext(ctx, int32(pid))
			if err != nil {
				return fmt.Sprintf("process %d (it is no longer running)", pid)
			}
			name, _ := p.NameWithContext(ctx)
			user, _ := p.UsernameWithContext(ctx)
			switch {
			case name != "" && user != "":
				return fmt.Sprintf("the program %s (process %d, run by %s)", name, pid, user)
			case name != "":
				return fmt.Sprintf("the program %s (process %d)", name, pid)
			}
			return fmt.Sprintf("process %d", pid)
		}
		if n := params["name"]; n != "" {
			return "every program named " + n
		}
	case catalog.RestartService:
		if n := params["service"]; n != "" {
			return "the service " + n
		}
	case catalog.EmptyTrash, catalog.ClearUserCaches:
		what := "trash"
		if fixID == catalog.ClearUserCaches {
			what = "caches"
		}
		if u := params["user"]; u != "" {
			return u + "'s " + what
		}
		return "the " + what + " of the user at the screen"
	}
	return ""
}
