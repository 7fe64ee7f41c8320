// Command pulumi-resource-command is the eksa-metrics stand-in for the pulumi-command v1.2.1
// provider plugin: it implements command:local:Command only, for this repository's tests and
// demo on machines where the real plugin cannot be installed. See README.md.
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func main() {
	// provider.Main parses the engine's flags and knows no --version: answer it first, with
	// what this binary is rather than the version number it reports to the engine.
	for _, arg := range os.Args[1:] {
		if arg == "--version" || arg == "-version" {
			fmt.Println(identity)
			return
		}
	}
	err := provider.Main(providerName, func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return newProvider(host), nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
