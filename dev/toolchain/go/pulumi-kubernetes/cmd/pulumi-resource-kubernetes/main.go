// Our own main for the kubernetes resource provider, built from the module the Go proxy serves
// (github.com/pulumi/pulumi-kubernetes/provider/v4 at the commit of release v4.25.0).
// Upstream's main embeds files its go:generate step writes; toolchain/setup.sh writes the same
// two files here at build time (gitignored): the module's schema.json with "version" set, and
// its terraform-mapping.json.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
