/**
 * The end-to-end tests' hands on the local control plane (localcluster/): bring it up and down,
 * apply the stack's rendered objects with kubectl, run the stack's verification command.
 */
import { execFile, ExecFileOptions } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { issueProxyCertificate } from "../../components/tls";
import type { MetricsStackArgs } from "../../components/metricsStack";

export const REPO = path.resolve(__dirname, "..", "..");

export interface Result { code: number; stdout: string; stderr: string }

export function run(argv: string[], options: ExecFileOptions & { input?: string } = {}): Promise<Result> {
    return new Promise((resolve) => {
        const child = execFile(argv[0], argv.slice(1), { maxBuffer: 256 * 1024 * 1024, cwd: REPO, ...options }, (error, stdout, stderr) => {
            resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
        });
        if (options.input !== undefined) {
            child.stdin!.end(options.input);
        }
    });
}

export async function mustRun(argv: string[], options: ExecFileOptions & { input?: string } = {}): Promise<string> {
    const result = await run(argv, options);
    if (result.code !== 0) {
        throw new Error(`${argv.join(" ")} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
    }
    return result.stdout;
}

export interface Rendered {
    manifests: any[];
    verification: { create: string; environment: Record<string, string> };
}

export class LocalCluster {
    readonly kubeconfigFile: string;
    private readonly env: NodeJS.ProcessEnv;
    private readonly certificateFile: string;

    /** `dir`: the cluster's state directory (default: a new temporary one). */
    constructor(readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "eksa-e2e-cluster-"))) {
        this.kubeconfigFile = path.join(dir, "kubeconfig");
        this.env = { ...process.env, EKSA_LOCALCLUSTER_DIR: dir };
        this.certificateFile = path.join(dir, "stack-certificate.json");
    }

    async up(): Promise<void> {
        await mustRun(["bash", "localcluster/up.sh"], { env: this.env });
    }

    async down(): Promise<void> {
        await mustRun(["bash", "localcluster/down.sh", "--purge"], { env: this.env });
    }

    kubeconfig(): string {
        return fs.readFileSync(this.kubeconfigFile, "utf8");
    }

    kubectl(args: string[], input?: string): Promise<Result> {
        return run(["kubectl", "--kubeconfig", this.kubeconfigFile, ...args], { input });
    }

    async mustKubectl(args: string[], input?: string): Promise<string> {
        const result = await this.kubectl(args, input);
        if (result.code !== 0) {
            throw new Error(`kubectl ${args.join(" ")} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
        }
        return result.stdout;
    }

    /** Stops one control-plane process (its pid file is in the state dir); up() starts it again. */
    async stopComponent(name: string): Promise<void> {
        await mustRun(["bash", "-c", `source localcluster/lib.sh && lc_stop "$EKSA_LOCALCLUSTER_DIR/run/${name}.pid"`], { env: this.env });
    }

    /** The component's objects and verification command, as the stack would register them. */
    async render(args: Omit<MetricsStackArgs, "kubeconfig">): Promise<Rendered> {
        if (!fs.existsSync(this.certificateFile)) {
            // Issued once, like the stack's certificate command, and kept across renders.
            fs.writeFileSync(this.certificateFile, JSON.stringify(await issueProxyCertificate({ serverName: "eksa-metrics-metrics-proxy", validityDays: 30 })));
        }
        const argsFile = path.join(this.dir, "stack-args.json");
        fs.writeFileSync(argsFile, JSON.stringify({ ...args, kubeconfig: this.kubeconfig() }));
        const out = await mustRun(["node", "--require", "ts-node/register/transpile-only", "test/e2e/renderStack.ts", argsFile, this.certificateFile]);
        return JSON.parse(out) as Rendered;
    }

    /** Server-side apply, in the order the provider's dependencies give; then wait for every DaemonSet. */
    async apply(rendered: Rendered): Promise<void> {
        const list = { apiVersion: "v1", kind: "List", items: rendered.manifests };
        await this.mustKubectl(["apply", "--server-side", "--field-manager=eksa-metrics-e2e", "-f", "-"], JSON.stringify(list));
        for (const ds of rendered.manifests.filter((m) => m.kind === "DaemonSet")) {
            await this.mustKubectl(["rollout", "status", "--timeout=180s", "-n", ds.metadata.namespace, `daemonset/${ds.metadata.name}`]);
        }
    }

    /** Deletes what `previous` had and `next` has not, as Pulumi deletes resources that left the program. */
    async prune(previous: Rendered, next: Rendered | undefined): Promise<void> {
        const key = (m: any) => `${m.kind}/${m.metadata.namespace ?? ""}/${m.metadata.name}`;
        const keep = new Set((next?.manifests ?? []).map(key));
        const gone = previous.manifests.filter((m) => !keep.has(key(m))).reverse();
        for (const m of gone) {
            await this.mustKubectl(["delete", "--wait=true", "--timeout=120s", "--ignore-not-found", m.kind, m.metadata.name, ...(m.metadata.namespace ? ["-n", m.metadata.namespace] : [])]);
        }
    }

    /** Runs the stack's verification command as @pulumi/command runs it: `sh -c` with its environment. */
    verify(rendered: Rendered): Promise<Result> {
        return run(["/bin/sh", "-c", rendered.verification.create], { env: { ...process.env, ...rendered.verification.environment } });
    }
}
