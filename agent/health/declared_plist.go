package health

import (
	"fmt"
	"strings"

	"howett.net/plist"
)

// maxPlistSize bounds a property list a declarative check reads.
const maxPlistSize = 4 << 20

// readPlistKey reads key (a path of keys joined by '/') from the property
// list at path (XML, binary or OpenStep) and formats its value: strings
// as they are, booleans as true/false, numbers in decimal.
func readPlistKey(path, key string) (string, bool, error) {
	b, err := readBounded(path, maxPlistSize)
	if err != nil {
		return "", false, err
	}
	var v any
	if _, err := plist.Unmarshal(b, &v); err != nil {
		return "", false, fmt.Errorf("not a property list: %w", err)
	}
	for _, k := range strings.Split(key, "/") {
		m, ok := v.(map[string]any)
		if !ok {
			return "", false, nil
		}
		if v, ok = m[k]; !ok {
			return "", false, nil
		}
	}
	switch x := v.(type) {
	case map[string]any, []any:
		return fmt.Sprintf("(%T)", x), true, nil
	case []byte:
		return fmt.Sprintf("(%d bytes)", len(x)), true, nil
	}
	return fmt.Sprint(v), true, nil
}
