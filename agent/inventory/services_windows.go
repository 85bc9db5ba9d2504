package inventory

import (
	"context"
	"fmt"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/tierline/tierline/shared/diag"
)

// fillServices lists Windows services and their states from the SCM.
func fillServices(_ context.Context, _ *Config, inv *diag.Inventory) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("connect to service manager: %w", err)
	}
	defer m.Disconnect()
	names, err := m.ListServices()
	if err != nil {
		return fmt.Errorf("list services: %w", err)
	}
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
		inv.Services = append(inv.Services, svc)
	}
	return nil
}
