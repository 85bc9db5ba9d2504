// Command tierline-hub is the Tierline hub: agents stream to it,
// technicians and admins work in its console and API.
package main

import (
	"os"

	"github.com/tierline/tierline/hub/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
}
