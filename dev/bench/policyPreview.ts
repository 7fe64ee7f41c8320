/**
 * What the policy pack costs a preview: `pulumi preview` of a program of about 500 Kubernetes
 * resources, without a pack, with an empty pack (one policy that checks nothing: what CrossGuard
 * itself costs — starting the pack, one analyzer call per resource), with `--policy-pack policy`, and
 * with the same pack compiled to JavaScript first (what skipping ts-node's type check at start saves),
 * same program, same run. The program renders
 * to a directory (`renderYamlToDirectory`), so no cluster is needed, only the kubernetes provider
 * plugin. Its objects are the kinds the pack looks at — workloads running kube-proxy, etcd and a
 * CAPI controller, host-network proxies with their haproxy ConfigMaps, kubeadm ConfigMaps, ClusterRoles
 * and bindings — all compliant, so every policy runs its whole check on every object.
 * Rounds alternate the order (A B C D, D C B A, …) so machine noise hits all alike; prints each
 * measurement, the medians and the ratios to the preview without a pack (goal for the pack: at
 * most 1.2) and to the empty pack (what this pack's policies add).
 *
 * Run with `source dev/toolchain/env.sh && node -r ts-node/register/transpile-only dev/bench/policyPreview.ts [ROUNDS] [GROUPS]`
 * (defaults 3 and 50: ten objects a group).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";

const REPO = path.resolve(__dirname, "..", "..");
const MODES = ["without pack", "empty pack", "with pack", "pack as JS"] as const;
type Mode = (typeof MODES)[number];

const log = (text: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

/**
 * The program, in JavaScript so that the measured difference is the pack's (a TypeScript program
 * would add its own type check to both sides). One group is ten objects.
 */
function program(groups: number): string {
    return `"use strict";
const k8s = require("@pulumi/kubernetes");
const provider = new k8s.Provider("render", { renderYamlToDirectory: process.env.BENCH_RENDER_DIR });
const opts = { provider };
const haproxyCfg = (port) => [
    "frontend metrics",
    '    bind "\${NODE_IP}:' + port + '" ssl crt /tls/haproxy.pem',
    "    default_backend metrics",
    "backend metrics",
    "    server c 127.0.0.1:" + port + " ssl verify none",
].join("\\n");
const nodeIp = [{ name: "NODE_IP", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } }];
const labels = (name) => ({ app: name });
const deployment = (name, containers, hostNetwork, volumes) => new k8s.apps.v1.DaemonSet(name, {
    metadata: { name, namespace: "bench" },
    spec: { selector: { matchLabels: labels(name) }, template: { metadata: { labels: labels(name) }, spec: { hostNetwork, containers, volumes } } },
}, opts);
for (let i = 0; i < ${groups}; i++) {
    const ns = "bench";
    new k8s.core.v1.ConfigMap("kube-proxy-" + i, { metadata: { name: "kube-proxy-" + i, namespace: ns }, data: {
        "config.conf": "apiVersion: kubeproxy.config.k8s.io/v1alpha1\\nkind: KubeProxyConfiguration\\nmetricsBindAddress: 127.0.0.1:10249\\n" } }, opts);
    new k8s.core.v1.ConfigMap("kubeadm-config-" + i, { metadata: { name: "kubeadm-config-" + i, namespace: ns }, data: {
        ClusterConfiguration: "apiVersion: kubeadm.k8s.io/v1beta4\\nkind: ClusterConfiguration\\netcd:\\n  local:\\n    extraArgs:\\n    - name: listen-metrics-urls\\n      value: http://127.0.0.1:2381\\n" } }, opts);
    new k8s.core.v1.ConfigMap("proxy-config-" + i, { metadata: { name: "proxy-config-" + i, namespace: ns }, data: { "haproxy.cfg": haproxyCfg(10257) } }, opts);
    deployment("proxy-" + i, [{ name: "haproxy", image: "haproxy:2.9", env: nodeIp, ports: [{ containerPort: 10257, hostPort: 10257 }],
        volumeMounts: [{ name: "config", mountPath: "/usr/local/etc/haproxy" }] }], true, [{ name: "config", configMap: { name: "proxy-config-" + i } }]);
    deployment("kube-proxy-ds-" + i, [{ name: "kube-proxy", image: "registry.k8s.io/kube-proxy:v1.31.2",
        command: ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf", "--metrics-bind-address=127.0.0.1:10249"] }], true);
    new k8s.core.v1.Pod("etcd-" + i, { metadata: { name: "etcd-" + i, namespace: ns }, spec: { hostNetwork: true, containers: [{ name: "etcd", image: "registry.k8s.io/etcd:3.5.15-0",
        command: ["etcd", "--data-dir=/var/lib/etcd", "--listen-metrics-urls=http://127.0.0.1:2381"] }] } }, opts);
    new k8s.apps.v1.Deployment("capi-" + i, { metadata: { name: "capi-" + i, namespace: ns }, spec: { selector: { matchLabels: labels("capi-" + i) }, template: {
        metadata: { labels: labels("capi-" + i) }, spec: { containers: [{ name: "manager", image: "registry.k8s.io/cluster-api/cluster-api-controller:v1.8.5",
        command: ["/manager"], args: ["--leader-elect", "--diagnostics-address=:8443", "--insecure-diagnostics=false"] }] } } } }, opts);
    new k8s.core.v1.Service("svc-" + i, { metadata: { name: "svc-" + i, namespace: ns }, spec: { selector: labels("capi-" + i), ports: [{ port: 8443 }] } }, opts);
    new k8s.rbac.v1.ClusterRole("reader-" + i, { metadata: { name: "reader-" + i }, rules: [{ nonResourceURLs: ["/metrics"], verbs: ["get"] }] }, opts);
    new k8s.rbac.v1.ClusterRoleBinding("reader-" + i, { metadata: { name: "reader-" + i }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "reader-" + i },
        subjects: [{ kind: "ServiceAccount", name: "prometheus-server", namespace: "observability" }] }, opts);
}
`;
}

/** A pack with one policy that checks nothing, on the pack's own SDK (the same @pulumi/policy and ts-node). */
function writeEmptyPack(dir: string): void {
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "PulumiPolicy.yaml"), "runtime: nodejs\ndescription: checks nothing\n");
    fs.writeFileSync(
        path.join(dir, "package.json"),
        JSON.stringify({ name: "empty-pack", version: "0.1.0", main: "index.ts" }),
    );
    fs.copyFileSync(path.join(REPO, "policy", "tsconfig.json"), path.join(dir, "tsconfig.json"));
    fs.writeFileSync(
        path.join(dir, "index.ts"),
        'import { PolicyPack } from "@pulumi/policy";\nnew PolicyPack("empty", { policies: [{ name: "nothing", description: "checks nothing", validateResource: () => undefined }] });\n',
    );
    fs.symlinkSync(path.join(REPO, "policy", "node_modules"), path.join(dir, "node_modules"));
}

/** The pack compiled by its own tsc (the catalogue it imports comes along), run as JavaScript. */
function writeCompiledPack(dir: string): void {
    const tsc = path.join(REPO, "policy", "node_modules", ".bin", "tsc");
    const compiled = spawnSync(
        tsc,
        ["-p", path.join(REPO, "policy"), "--outDir", path.join(dir, "out"), "--rootDir", REPO],
        { encoding: "utf8" },
    );
    if (compiled.status !== 0) {
        throw new Error(`tsc of the pack failed:\n${compiled.stdout}${compiled.stderr}`);
    }
    fs.copyFileSync(path.join(REPO, "policy", "PulumiPolicy.yaml"), path.join(dir, "PulumiPolicy.yaml"));
    const manifest = JSON.parse(fs.readFileSync(path.join(REPO, "policy", "package.json"), "utf8"));
    fs.writeFileSync(
        path.join(dir, "package.json"),
        JSON.stringify({ name: manifest.name, version: manifest.version, main: "out/policy/index.js" }),
    );
    fs.symlinkSync(path.join(REPO, "policy", "node_modules"), path.join(dir, "node_modules"));
}

function pulumi(args: string[], cwd: string, env: NodeJS.ProcessEnv): { seconds: number; stdout: string } {
    const started = process.hrtime.bigint();
    const result = spawnSync("pulumi", args, { cwd, env, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.status !== 0) {
        throw new Error(`pulumi ${args.join(" ")} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
    }
    return { seconds, stdout: result.stdout };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function main(): void {
    const rounds = Number(process.argv[2] ?? "3");
    const groups = Number(process.argv[3] ?? "50");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eksa-bench-policy-"));
    const project = path.join(dir, "project");
    fs.mkdirSync(path.join(dir, "state"), { recursive: true });
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, "Pulumi.yaml"), "name: policy-bench\nruntime: nodejs\nmain: index.js\n");
    fs.writeFileSync(path.join(project, "index.js"), program(groups));
    fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "policy-bench", private: true }));
    // The project's own SDKs, as its program uses them.
    fs.symlinkSync(path.join(REPO, "node_modules"), path.join(project, "node_modules"));
    writeEmptyPack(path.join(dir, "empty-pack"));
    writeCompiledPack(path.join(dir, "js-pack"));
    const env = {
        ...process.env,
        PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
        PULUMI_CONFIG_PASSPHRASE: "bench-passphrase",
        BENCH_RENDER_DIR: path.join(dir, "rendered"),
    };
    try {
        pulumi(["stack", "init", "bench", "--non-interactive"], project, env);
        const args: Record<Mode, string[]> = {
            "without pack": ["preview", "--non-interactive", "--json"],
            "empty pack": ["preview", "--non-interactive", "--json", "--policy-pack", path.join(dir, "empty-pack")],
            "with pack": ["preview", "--non-interactive", "--json", "--policy-pack", path.join(REPO, "policy")],
            "pack as JS": ["preview", "--non-interactive", "--json", "--policy-pack", path.join(dir, "js-pack")],
        };
        // One untimed preview each: the plugin and the packs' files are warm for every mode.
        let resources = 0;
        for (const mode of MODES) {
            const { stdout } = pulumi(args[mode], project, env);
            const preview = JSON.parse(stdout);
            resources = (preview.steps ?? []).length;
            const diagnostics = (preview.diagnostics ?? []).filter(
                (d: { severity?: string; message?: string }) =>
                    d.severity === "error" || /policy/i.test(d.message ?? ""),
            );
            if ((mode === "with pack" || mode === "pack as JS") && diagnostics.length > 0) {
                throw new Error(`the bench program should pass the pack:\n${JSON.stringify(diagnostics, null, 1)}`);
            }
        }
        log(`program: ${resources} resources in the preview (${groups} groups)`);
        const times: Record<Mode, number[]> = {
            "without pack": [],
            "empty pack": [],
            "with pack": [],
            "pack as JS": [],
        };
        for (let round = 0; round < rounds; round++) {
            for (const mode of round % 2 === 0 ? MODES : [...MODES].reverse()) {
                const { seconds } = pulumi(args[mode], project, env);
                times[mode].push(seconds);
                log(`round ${round + 1} ${mode}: ${seconds.toFixed(1)} s`);
            }
        }
        const medians = Object.fromEntries(MODES.map((mode) => [mode, median(times[mode])])) as Record<Mode, number>;
        console.log(
            `resources: ${resources}; rounds: ${rounds}; load average: ${os
                .loadavg()
                .map((l) => l.toFixed(1))
                .join(" ")}`,
        );
        for (const mode of MODES) {
            console.log(
                `preview ${mode.padEnd(12)}: median ${medians[mode].toFixed(1)} s (${times[mode].map((t) => t.toFixed(1)).join(", ")})`,
            );
        }
        console.log(
            `ratio with pack / without: ${(medians["with pack"] / medians["without pack"]).toFixed(2)} (goal <= 1.20)`,
        );
        console.log(
            `ratio empty pack / without: ${(medians["empty pack"] / medians["without pack"]).toFixed(2)} (CrossGuard itself)`,
        );
        console.log(
            `ratio with pack / empty pack: ${(medians["with pack"] / medians["empty pack"]).toFixed(2)} (this pack's policies)`,
        );
        console.log(
            `ratio pack as JS / without: ${(medians["pack as JS"] / medians["without pack"]).toFixed(2)} (no type check at start)`,
        );
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

main();
