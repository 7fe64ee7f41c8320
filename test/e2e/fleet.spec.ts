/**
 * The fleet runner (fleet/, Automation API) on the project's own program under the real engine:
 * five stacks on two local control planes, each in a network namespace of its own. Three healthy
 * stacks are deployed and verified; one whose cluster is unreachable and one whose config breaks
 * the policy pack fail alone, each with the line that matters.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import {
    healthyFleetStacks,
    LocalCluster,
    ONLY_KUBE_PROXY,
    ProgramStack,
    STACK_PASSPHRASE,
    writeProjectMirror,
} from "../../dev/localcluster/driver";
import { main } from "../../fleet/main";

describe("the fleet runner on the project's own program, two local control planes", function () {
    this.timeout(1_200_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eksa-fleet-e2e-"));
    const project = path.join(dir, "project");
    const west = new LocalCluster(path.join(dir, "west"), { addressBlock: "127.0.1" });
    const east = new LocalCluster(path.join(dir, "east"), { addressBlock: "127.0.2" });
    const envVars = {
        PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
        PULUMI_CONFIG_PASSPHRASE: STACK_PASSPHRASE,
    };
    const fleetFile = path.join(dir, "fleet.yaml");
    let output = "";
    let code: number;

    before(async () => {
        await Promise.all([west.up(), east.up()]);
        await Promise.all([west, east].map((cluster) => cluster.createDefaultReaders()));
        fs.mkdirSync(project);
        fs.mkdirSync(path.join(dir, "state"));
        writeProjectMirror(project);
        // A kubeconfig whose server nobody serves (an address of no namespace of ours).
        fs.writeFileSync(
            path.join(dir, "gone.kubeconfig"),
            west.kubeconfig().replace(/server: https:\/\/[^\s]+/, "server: https://127.0.9.1:6443"),
        );
        fs.writeFileSync(
            fleetFile,
            yaml.dump({
                concurrency: 2,
                policyPacks: ["policy"],
                stacks: [
                    ...healthyFleetStacks(west, east),
                    { name: "gone", kubeconfig: path.join(dir, "gone.kubeconfig") },
                    // Metrics for anyone who can reach a node: the pack must stop it at preview.
                    {
                        name: "east-open",
                        kubeconfig: east.kubeconfigFile,
                        config: {
                            components: ONLY_KUBE_PROXY,
                            namespace: "eksa-metrics-open",
                            // Not east's haproxy health port: the preflight would stop it before the pack.
                            healthPort: 10264,
                            readers: [
                                { kind: "ServiceAccount", name: "prometheus-server", namespace: "observability" },
                                { kind: "Group", name: "system:unauthenticated" },
                            ],
                        },
                    },
                ],
            }),
        );
        const lines: string[] = [];
        code = await main([fleetFile, "--log-dir", path.join(dir, "logs")], {
            projectDir: project,
            envVars,
            out: (t) => lines.push(t),
            err: (t) => lines.push(t),
        });
        output = lines.join("\n");
        console.log(
            output
                .split("\n")
                .filter((l) => /^(stack|west|east|gone)/.test(l))
                .map((l) => `      ${l}`)
                .join("\n"),
        );
    });

    after(async () => {
        for (const name of ["west", "west-nodes", "east"]) {
            await new ProgramStack(name, { dir: project, backendDir: path.join(dir, "state") })
                .destroy()
                .catch(() => undefined);
        }
        await Promise.all([west.down(), east.down()]);
    });

    const row = (stack: string) => output.split("\n").find((l) => l.startsWith(`${stack} `)) ?? "";

    it("deploys and verifies the healthy stacks", async () => {
        assert.equal(code, 1, output);
        for (const name of ["west", "west-nodes", "east"]) {
            assert.match(row(name), /^\S+\s+ok \(\+\d+\)\s+ok\s/, `${name}:\n${output}`);
            const stack = new ProgramStack(name, { dir: project, backendDir: path.join(dir, "state") });
            assert.match(await stack.output("verificationReport"), /verified: \d+ checks passed/);
        }
        const westReport: string = await new ProgramStack("west", {
            dir: project,
            backendDir: path.join(dir, "state"),
        }).output("verificationReport");
        assert.match(westReport, /^eksa-cp-1 +127\.0\.1\.2 +kube-controller-manager +authorised +ok +200 \+ metrics$/m);
        const eastNodes = JSON.parse(
            await east.mustKubectl([
                "get",
                "pods",
                "-A",
                "-l",
                "app.kubernetes.io/name=eksa-metrics-proxy",
                "-o",
                "json",
            ]),
        ).items;
        assert.ok(
            eastNodes.every((p: any) => p.metadata.namespace === "eksa-metrics"),
            "east-open deployed nothing",
        );
    });

    it("fails the stack whose cluster is unreachable alone, saying so", () => {
        assert.match(row("gone"), /^gone\s+failed\s+skipped\s/, output);
        assert.match(row("gone"), /127\.0\.9\.1|unreachable|connection refused/i, output);
        assert.doesNotMatch(row("gone"), /\d+ errors? occurred:?\s*$/);
    });

    it("fails the stack whose config breaks the pack at preview, naming the policy", () => {
        assert.match(row("east-open"), /^east-open\s+failed\s+skipped\s.*policy \S+/, output);
        assert.match(row("east-open"), /system:unauthenticated/, output);
    });
});
