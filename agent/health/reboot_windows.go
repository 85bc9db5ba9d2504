package health

import (
	"context"

	"golang.org/x/sys/windows/registry"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

// rebootKeys are where Windows records that a restart is pending.
var rebootKeys = []struct{ path, value string }{
	{`SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending`, ""},
	{`SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired`, ""},
	{`SYSTEM\CurrentControlSet\Control\Session Manager`, "PendingFileRenameOperations"},
}

func checkReboot(_ context.Context, _ *Config) diag.CheckResult {
	for _, k := range rebootKeys {
		key, err := registry.OpenKey(registry.LOCAL_MACHINE, k.path, registry.QUERY_VALUE)
		if err != nil {
			continue
		}
		found := k.value == ""
		if !found {
			_, _, err := key.GetValue(k.value, nil)
			found = err == nil
		}
		key.Close()
		if found {
			return result(diag.StatusWarning, catalog.ScheduleReboot, "Updates are waiting for a restart.",
				ev("registry", `HKLM\%s %s`, k.path, k.value))
		}
	}
	return ok("No restart is pending.")
}
