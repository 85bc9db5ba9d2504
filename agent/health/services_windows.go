package health

import (
	"context"
	"fmt"

	"golang.org/x/sys/windows"
)

// serviceStates asks the Service Control Manager for each service's status.
func serviceStates(_ context.Context, names []string) ([]serviceState, error) {
	m, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_CONNECT)
	if err != nil {
		return nil, fmt.Errorf("open service manager: %w", err)
	}
	defer windows.CloseServiceHandle(m)
	var out []serviceState
	for _, name := range names {
		n, err := windows.UTF16PtrFromString(name)
		if err != nil {
			out = append(out, serviceState{Name: name, State: "invalid name"})
			continue
		}
		h, err := windows.OpenService(m, n, windows.SERVICE_QUERY_STATUS)
		if err != nil {
			out = append(out, serviceState{Name: name, State: "not installed"})
			continue
		}
		var st windows.SERVICE_STATUS
		err = windows.QueryServiceStatus(h, &st)
		windows.CloseServiceHandle(h)
		if err != nil {
			out = append(out, serviceState{Name: name, State: "unknown: " + err.Error()})
			continue
		}
		out = append(out, serviceState{Name: name, State: winState(st.CurrentState), Running: st.CurrentState == windows.SERVICE_RUNNING})
	}
	return out, nil
}

func winState(s uint32) string {
	switch s {
	case windows.SERVICE_RUNNING:
		return "running"
	case windows.SERVICE_STOPPED:
		return "stopped"
	case windows.SERVICE_START_PENDING:
		return "starting"
	case windows.SERVICE_STOP_PENDING:
		return "stopping"
	case windows.SERVICE_PAUSED:
		return "paused"
	}
	return fmt.Sprintf("state %d", s)
}
