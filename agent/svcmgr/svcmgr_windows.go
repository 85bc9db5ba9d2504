package svcmgr

import (
	"context"
	"errors"
	"fmt"
	"unsafe"

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
		var st windows.SERVICE_STATUS_PROCESS
		var need uint32
		err = windows.QueryServiceStatusEx(h, windows.SC_STATUS_PROCESS_INFO, (*byte)(unsafe.Pointer(&st)), uint32(unsafe.Sizeof(st)), &need)
		windows.CloseServiceHandle(h)
		if err != nil {
			out = append(out, Status{Name: name, State: "unknown: " + err.Error()})
			continue
		}
		out = append(out, scmStatus(name, st))
	}
	return out, nil
}

// scmStatus is the Status the SCM's answer gives (what `sc queryex`
// prints): state, process id, and the exit code of a stopped service,
// the service's own code when Win32ExitCode says it set one. The SCM
// keeps no restart count.
func scmStatus(name string, st windows.SERVICE_STATUS_PROCESS) Status {
	s := Status{Name: name, State: queryState(st.CurrentState), Running: st.CurrentState == windows.SERVICE_RUNNING}
	if s.Running {
		s.PID = int(st.ProcessId)
	}
	if st.CurrentState == windows.SERVICE_STOPPED && st.Win32ExitCode != 0 {
		code := st.Win32ExitCode
		if windows.Errno(code) == windows.ERROR_SERVICE_SPECIFIC_ERROR {
			code = st.ServiceSpecificExitCode
			s.Exit = &Exit{Code: int(code), Text: "the service's own code"}
		} else {
			s.Exit = &Exit{Code: int(code), Text: windows.Errno(code).Error()}
		}
	}
	return s
}

// LastLog is not read on Windows yet: the service's events are in the
// Application and System event logs, not in one place per service.
func LastLog(_ context.Context, name string) ([]string, error) {
	return nil, fmt.Errorf("log of %s: %w", name, errors.ErrUnsupported)
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
