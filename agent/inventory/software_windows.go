package inventory

import (
	"context"

	"golang.org/x/sys/windows/registry"

	"github.com/tierline/tierline/shared/diag"
)

var uninstallKeys = []string{
	`SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall`,
	`SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall`,
}

// fillSoftware reads the uninstall registry keys ("Apps & features").
func fillSoftware(_ context.Context, _ *Config, inv *diag.Inventory) error {
	seen := map[string]bool{}
	for _, path := range uninstallKeys {
		k, err := registry.OpenKey(registry.LOCAL_MACHINE, path, registry.ENUMERATE_SUB_KEYS)
		if err != nil {
			continue
		}
		names, _ := k.ReadSubKeyNames(-1)
		k.Close()
		for _, n := range names {
			sk, err := registry.OpenKey(registry.LOCAL_MACHINE, path+`\`+n, registry.QUERY_VALUE)
			if err != nil {
				continue
			}
			name, _, _ := sk.GetStringValue("DisplayName")
			ver, _, _ := sk.GetStringValue("DisplayVersion")
			pub, _, _ := sk.GetStringValue("Publisher")
			sys, _, _ := sk.GetIntegerValue("SystemComponent")
			sk.Close()
			if name == "" || sys == 1 || seen[name+ver] {
				continue
			}
			seen[name+ver] = true
			inv.Software = append(inv.Software, diag.Software{Name: name, Version: ver, Publisher: pub, Source: "registry"})
		}
	}
	if len(inv.Software) == 0 {
		return noData("no uninstall entries readable")
	}
	return nil
}
