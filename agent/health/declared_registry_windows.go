package health

import (
	"errors"
	"strconv"
	"strings"

	"golang.org/x/sys/windows/registry"
)

// readRegistry reads a value under HKEY_LOCAL_MACHINE and formats it:
// strings as they are, numbers in decimal, lists joined by ", ".
func readRegistry(key, value string) (string, bool, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, key, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	defer k.Close()
	_, typ, err := k.GetValue(value, nil)
	if errors.Is(err, registry.ErrNotExist) {
		return "", false, nil
	}
	if err != nil && !errors.Is(err, registry.ErrShortBuffer) {
		return "", false, err
	}
	switch typ {
	case registry.SZ, registry.EXPAND_SZ:
		s, _, err := k.GetStringValue(value)
		return s, err == nil, err
	case registry.DWORD, registry.QWORD:
		n, _, err := k.GetIntegerValue(value)
		return strconv.FormatUint(n, 10), err == nil, err
	case registry.MULTI_SZ:
		ss, _, err := k.GetStringsValue(value)
		return strings.Join(ss, ", "), err == nil, err
	}
	b, _, err := k.GetBinaryValue(value)
	return strconv.Itoa(len(b)) + " bytes", err == nil, err
}
