package health

import (
	"context"
	"time"

	"github.com/tierline/tierline/agent/execx"
)

// readPrinting asks the Windows spooler through PowerShell's PrintManagement
// cmdlets, in one run.
func readPrinting(_ *Config) func(ctx context.Context) (printState, error) {
	return func(ctx context.Context) (printState, error) {
		const script = `$p = @(Get-Printer | Select-Object Name,PrinterStatus); ` +
			`$j = @(Get-Printer | Get-PrintJob | Select-Object PrinterName,Id,UserName,SubmittedTime,JobStatus); ` +
			`ConvertTo-Json -Compress -InputObject $p; '----'; ConvertTo-Json -Compress -InputObject $j`
		out, err := execx.Output(ctx, 20*time.Second, 512<<10, "powershell.exe", "-NoProfile", "-NonInteractive", "-Command", script)
		if err != nil {
			return printState{}, err
		}
		p, j, _ := cutLine(out, "----")
		return parseWinPrinting([]byte(p), []byte(j))
	}
}
