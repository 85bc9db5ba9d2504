package localapi

import (
	"context"
	"runtime"

	"github.com/tierline/tierline/agent/fixes"
	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/wire"
)

// softwareList is the signed software catalog as the user sees it, with
// what the package database holds of each entry.
func (o *API) softwareList(ctx context.Context) localipc.SoftwareList {
	out := localipc.SoftwareList{Entries: []localipc.SoftwareItem{}}
	if o.software == nil {
		return out
	}
	m := o.machine()
	f, _ := catalog.Get(catalog.InstallSoftware)
	pol := o.fixPolicy()
	for _, e := range o.software.SoftwareList() {
		it := localipc.SoftwareItem{ID: e.ID, Version: e.Version, Title: e.Title, Description: e.Description, Manager: e.Manager,
			Package: e.Package, Constraint: e.Constraint(), Applicable: true}
		if v, ok, err := fixes.InstalledVersion(ctx, e.Manager, e.Package); err == nil && ok {
			it.Installed, it.Satisfied = v, e.Satisfied(v)
		}
		switch {
		case e.OS() != runtime.GOOS:
			it.Applicable, it.Reason = false, "for "+e.OS()+" computers"
		case !pol.Allows(f):
			it.Applicable, it.Reason = false, fixes.PolicyRefusal(pol, f)
		default:
			if _, err := fixes.SoftwarePlan(o.software, e.ID, m); err != nil {
				it.Applicable, it.Reason = false, err.Error()
			}
		}
		out.Entries = append(out.Entries, it)
	}
	return out
}

// reportInstall tells the hub of an install the user at the device ran
// (the hub never asked for it, so it records the run and audits it), and
// has the inventory read again when it succeeded.
func (o *API) reportInstall(ctx context.Context, who localipc.Caller, res wire.RunResult, params map[string]string) {
	if res.Outcome == wire.OutcomeSucceeded && o.installed != nil {
		o.installed()
	}
	if res.Code == wire.RefuseBusy || o.link == nil {
		return
	}
	out := res
	out.Local = &wire.LocalRun{User: who.User, Params: map[string]string{"entry": params["entry"]}}
	if who.Privileged && who.User == "" {
		out.Local.User = "root"
	}
	if _, err := o.link.Send(ctx, out); err != nil {
		o.log.Warn("could not queue the software install's report for the hub", "run", res.RunID, "err", err)
	}
}
