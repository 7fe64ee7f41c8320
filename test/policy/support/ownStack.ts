/**
 * The project's own objects as the product renders them: every Kubernetes manifest MetricsStack registers
 * with default arguments (renderOwnStack.ts, under Pulumi's mocks), so the pack is shown to pass what the
 * stack really deploys rather than a copy that drifts from it.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { advanceTls } from "../../../components/tls";
import { renewalPeriod } from "../../../components/tlsSchedule";

export type Manifest = Record<string, any>;

let rendered: Promise<Manifest[]> | undefined;

/** Every manifest MetricsStack registers (rendered once per test process). */
export function ownManifests(): Promise<Manifest[]> {
    rendered ??= render();
    return rendered;
}

async function render(): Promise<Manifest[]> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eksa-own-stack-"));
    try {
        const argsFile = path.join(dir, "args.json");
        const certFile = path.join(dir, "cert.json");
        fs.writeFileSync(argsFile, JSON.stringify({ kubeconfig: "apiVersion: v1\nkind: Config\n" }));
        // What the certificate command stores (its stdout).
        const now = new Date();
        const policy = { serverName: "x", validityDays: 90, caValidityDays: 3650 };
        const { state } = await advanceTls(undefined, now, renewalPeriod(90, now), policy);
        fs.writeFileSync(certFile, JSON.stringify(state));
        // A process of its own: the renderer sets Pulumi's (process-wide) mocks.
        const { stdout } = await promisify(execFile)(
            "node",
            [
                "--require",
                "ts-node/register/transpile-only",
                path.join(__dirname, "renderOwnStack.ts"),
                argsFile,
                certFile,
            ],
            { cwd: path.resolve(__dirname, "../../.."), encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
        );
        // The last line: the program's log lines (the TLS forecast) come first.
        return JSON.parse(stdout.trim().split("\n").pop()!).manifests;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** The stack's own proxy for control-plane nodes: its haproxy ConfigMap, then the DaemonSet that mounts it. */
export async function ownControlPlaneProxy(): Promise<[Manifest, Manifest]> {
    const manifests = await ownManifests();
    const daemonSets = manifests.filter(
        (m) =>
            m.kind === "DaemonSet" &&
            m.spec.template.metadata.labels["eksa-metrics/node-role"] === "control-plane" &&
            (m.spec.template.spec.volumes ?? []).some((v: any) => v.configMap),
    );
    if (daemonSets.length !== 1) {
        throw new Error(`expected one control-plane DaemonSet mounting a ConfigMap, got ${daemonSets.length}`);
    }
    const mounted = daemonSets[0].spec.template.spec.volumes.find((v: any) => v.configMap).configMap.name;
    const configMap = manifests.find((m) => m.kind === "ConfigMap" && m.metadata.name === mounted);
    if (!configMap) {
        throw new Error(`no ConfigMap ${mounted} among the stack's manifests`);
    }
    return [configMap, daemonSets[0]];
}
