package svcmgr

import (
	"context"
	"fmt"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/tierline/tierline/shared/diag"
)

// Query asks the Service Control Manager for each service's status, with
// the least rights that allow it (connect, query status), so it works
// without administrator rights too.
func Query(_ context.Context, names []string) ([]Status, error) {
	m, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_CONNECT)
	if err != nil {
		return nil, fmt.Errorf("open service manager: %w", err)
	}
	defer windows.CloseServiceHandle(m)
	var out []Status
	for _, name := range names {
		n, err := windows.UTF16PtrFromString(name)
		if err != nil {
			out = append(out, Status{Name: name, State: "invalid name"})
			continue
		}
		h, err := windows.OpenService(m, n, windows.SERVICE_QUERY_STATUS)
		if err != nil {
			out = append(out, Status{Name: name, State: "not installed"})
			continue
		}
		var st windows.SERVICE_STATUS
		err = windows.QueryServiceStatus(h, &st)
		windows.CloseServiceHandle(h)
		if err != nil {
			out = append(out, Status{Name: name, State: "unknown: " + err.Error()})
			continue
		}
		out = append(out, Status{Name: name, State: queryState(st.CurrentState), Running: st.CurrentState == windows.SERVICE_RUNNING})
	}
	return out, nil
}

// queryState is Query's word for an SCM state.
func queryState(s uint32) string {
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

// List lists every Windows service with its state from the SCM (running,
// stopped, paused, pending; "unknown" when it cannot be queried); Enabled
// means it starts automatically. o is not used: the SCM is the only source.
func List(_ context.Context, _ ListOptions) ([]diag.Service, error) {
	m, err := mgr.Connect()
	if err != nil {
		return nil, fmt.Errorf("connect to service manager: %w", err)
	}
	defer m.Disconnect()
	names, err := m.ListServices()
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	var out []diag.Service
	for _, n := range names {
		s, err := m.OpenService(n)
		if err != nil {
			continue
		}
		st, err1 := s.Query()
		cfg, err2 := s.Config()
		s.Close()
		svc := diag.Service{Name: n, State: "unknown"}
		if err1 == nil {
			switch st.State {
			case windows.SERVICE_RUNNING:
				svc.State = "running"
			case windows.SERVICE_STOPPED:
				svc.State = "stopped"
			case windows.SERVICE_PAUSED:
				svc.State = "paused"
			default:
				svc.State = "pending"
			}
		}
		if err2 == nil {
			svc.Enabled = cfg.StartType == mgr.StartAutomatic
		}
		out = append(out, svc)
	}
	return out, nil
}
