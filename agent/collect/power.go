package collect

import (
	"context"

	"github.com/tierline/tierline/shared/diag"
)

func fillTemperature(_ context.Context, cfg *Config, s *diag.Sample) error {
	t, err := ReadTemperatures(cfg.Root)
	s.Temperature = t
	return err
}

func fillBattery(_ context.Context, cfg *Config, s *diag.Sample) error {
	b, err := ReadBattery(cfg.Root)
	s.Battery = b
	return err
}
