package health

// launchdStates looks watched labels up in `launchctl list`'s jobs.
func launchdStates(jobs map[string]LaunchdJob, names []string) []serviceState {
	out := make([]serviceState, 0, len(names))
	for _, n := range names {
		j, ok := jobs[n]
		if !ok {
			out = append(out, serviceState{Name: n, State: "not loaded"})
			continue
		}
		out = append(out, serviceState{Name: n, State: j.State(), Running: j.PID > 0})
	}
	return out
}
