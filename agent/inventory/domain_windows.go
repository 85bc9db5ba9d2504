package inventory

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

// domain returns the Active Directory domain or the workgroup the machine
// joined, from NetGetJoinInformation.
func domain(_ *Config) (dom, workgroup string) {
	var name *uint16
	var status uint32
	if err := windows.NetGetJoinInformation(nil, &name, &status); err != nil {
		return "", ""
	}
	defer windows.NetApiBufferFree((*byte)(unsafe.Pointer(name)))
	n := windows.UTF16PtrToString(name)
	switch status {
	case windows.NetSetupDomainName:
		return n, ""
	case windows.NetSetupWorkgroupName:
		return "", n
	}
	return "", ""
}
