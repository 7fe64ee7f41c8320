import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as path from "path";
import { LocalCluster, REPO } from "../../dev/localcluster/driver";
import { OPERATOR_CRDS } from "../../cluster/preflight";

/** The Prometheus Operator module's directory in Go's module cache (offline: `setup.sh prometheus` fetched it). */
export function operatorModuleDir(): string {
    return execFileSync("go", ["list", "-m", "-f", "{{.Dir}}", "github.com/prometheus-operator/prometheus-operator"], {
        cwd: path.join(REPO, "dev", "toolchain", "go", "prometheus-operator"),
        env: { ...process.env, GOFLAGS: "-mod=readonly", GOPROXY: "off" },
        encoding: "utf8",
    }).trim();
}

/** Applies the operator's CRD manifests, read from the module at test time (never copied into the repo), and waits for ours. */
export async function applyOperatorCrds(cluster: LocalCluster): Promise<void> {
    // Server-side: the CRDs are too large for client-side apply's annotation.
    await cluster.mustKubectl([
        "apply",
        "--server-side",
        "-f",
        path.join(operatorModuleDir(), "example", "prometheus-operator-crd"),
    ]);
    // `kubectl wait` fails outright while a new CRD has no status yet: ask again.
    for (
        let attempt = 1;
        (
            await cluster.kubectl([
                "wait",
                "--for=condition=Established",
                "--timeout=30s",
                ...OPERATOR_CRDS.map((c) => `crd/${c}`),
            ])
        ).code !== 0;
        attempt++
    ) {
        assert.ok(attempt < 10, "the operator's CRDs never became established");
        await new Promise((r) => setTimeout(r, 1000));
    }
}
