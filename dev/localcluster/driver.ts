/**
 * The harness's hands on a local control plane (dev/localcluster/) and on stacks of the project's
 * own program run by the real Pulumi engine against it. Shared by the end-to-end tests, the demo
 * and the benchmarks; nothing of the product imports it.
 */
import { execFile, ExecFileOptions } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { DEFAULT_READERS } from "../../config/settings";

export const REPO = path.resolve(__dirname, "..", "..");
const CACHE = process.env.EKSA_METRICS_CACHE ?? path.join(os.homedir(), ".cache", "eksa-metrics");

export interface Result {
    code: number;
    stdout: string;
    stderr: string;
}

export function run(argv: string[], options: ExecFileOptions & { input?: string } = {}): Promise<Result> {
    return new Promise((resolve) => {
        const child = execFile(
            argv[0],
            argv.slice(1),
            { maxBuffer: 256 * 1024 * 1024, cwd: REPO, ...options },
            (error, stdout, stderr) => {
                // A command that could not start (ENOENT: not on PATH) has a string code and no output of its own.
                const started = !error || typeof error.code === "number";
                resolve({
                    code: error ? (typeof error.code === "number" ? error.code : 1) : 0,
                    stdout: String(stdout),
                    stderr: started ? String(stderr) : `${argv[0]}: ${error.message}\n${String(stderr)}`,
                });
            },
        );
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

export interface LocalClusterOptions {
    /**
     * The nodes' address block, "127.X.Y" (default: EKSA_LOCALCLUSTER_ADDRESS_BLOCK, else
     * "127.0.0"). Any block but 127.0.0 runs the cluster in a network namespace of its own, reachable
     * from ours at `apiServer` and the node IPs, so several clusters can run at once.
     */
    addressBlock?: string;
}

/**
 * EKS Anywhere's Cluster CRD as a stand-in: its group, version and names, with an open schema (the
 * real CRD, with its schema, is in the eks-anywhere module, which is not served here), so
 * tests can create Cluster objects in the local control plane.
 */
export const EKSA_CLUSTER_CRD = {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "clusters.anywhere.eks.amazonaws.com" },
    spec: {
        group: "anywhere.eks.amazonaws.com",
        scope: "Namespaced",
        names: { kind: "Cluster", plural: "clusters", singular: "cluster", listKind: "ClusterList" },
        versions: [
            {
                name: "v1alpha1",
                served: true,
                storage: true,
                schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
            },
        ],
    },
};

/** A registry the process kubelet lets its nodes pull from on a closed network (kubelet/registry.go). */
export interface EmulatedRegistry {
    /** As image references name it: "mirror.example:5000". */
    host: string;
    /** What it holds, without the host: "brancz/kube-rbac-proxy:v0.19.1". */
    images: string[];
    /** When set, a pull needs an imagePullSecret with these credentials for `host`. */
    credentials?: { username: string; password: string };
    /** Upstream registries pulled through this one (containerd's mirror configuration) → their namespace in it ("" for none). */
    mirrors?: Record<string, string>;
}

export class LocalCluster {
    readonly kubeconfigFile: string;
    readonly addressBlock: string;
    /** The kubeconfig's server, as reached from our network namespace. */
    readonly apiServer: string;
    /** InternalIPs of the nodes: the control plane's first, then the workers'. */
    readonly nodeIPs: string[];
    private readonly env: NodeJS.ProcessEnv;

    /** `dir`: the cluster's state directory (default: a new temporary one). */
    constructor(
        readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "eksa-cluster-")),
        options: LocalClusterOptions = {},
    ) {
        this.kubeconfigFile = path.join(dir, "kubeconfig");
        this.addressBlock = options.addressBlock ?? process.env.EKSA_LOCALCLUSTER_ADDRESS_BLOCK ?? "127.0.0";
        this.apiServer = `https://${this.addressBlock === "127.0.0" ? "127.0.0.1" : `${this.addressBlock}.1`}:6443`;
        const workers = Number(process.env.EKSA_LOCALCLUSTER_WORKERS ?? 1);
        this.nodeIPs = Array.from({ length: workers + 1 }, (_, i) => `${this.addressBlock}.${2 + i}`);
        this.env = { ...process.env, EKSA_LOCALCLUSTER_DIR: dir, EKSA_LOCALCLUSTER_ADDRESS_BLOCK: this.addressBlock };
    }

    /** `argv` run as on the cluster's nodes: in its own network namespace, if it has one (after up()). */
    onNode(argv: string[]): string[] {
        const file = path.join(this.dir, "run", "cluster-netns");
        return fs.existsSync(file)
            ? ["nsenter", `--net=/run/netns/${fs.readFileSync(file, "utf8").trim()}`, "--", ...argv]
            : argv;
    }

    /**
     * The pod-network namespace `eksa-lc-pn-<hash of dir>` (after up()): it holds the bridge of the
     * non-hostNetwork pods, so every pod IP is reachable from it, and the node IPs and the apiserver
     * (127.0.0.1:6443) too, through the kubelet's forwarder (README "The pod network").
     */
    get podNetworkNamespace(): string {
        return fs.readFileSync(path.join(this.dir, "run", "podnet-netns"), "utf8").trim();
    }

    /** `argv` run inside the pod-network namespace (after up()), e.g. `curl http://POD_IP:PORT/`. */
    podNetwork(argv: string[]): string[] {
        return ["nsenter", `--net=/run/netns/${this.podNetworkNamespace}`, "--", ...argv];
    }

    async up(): Promise<void> {
        await mustRun(["bash", "dev/localcluster/up.sh"], { env: this.env });
    }

    async down(): Promise<void> {
        await mustRun(["bash", "dev/localcluster/down.sh", "--purge"], { env: this.env });
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

    /**
     * Creates the stack's default reader (DEFAULT_READERS: Prometheus' service account, as the
     * design binds it) and its namespace, as a cluster that already runs Prometheus has them.
     */
    async createDefaultReaders(): Promise<void> {
        const items = DEFAULT_READERS.flatMap((r) =>
            r.kind !== "ServiceAccount"
                ? []
                : [
                      { apiVersion: "v1", kind: "Namespace", metadata: { name: r.namespace } },
                      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: r.name, namespace: r.namespace } },
                  ],
        );
        await this.mustKubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items }));
    }

    /**
     * Closes the nodes' network to all but `registries` (the process kubelet's emulated registries, a
     * stand-in: README "Emulated registries"), or opens it again with undefined. Read at every pull.
     */
    setEmulatedRegistries(registries: EmulatedRegistry[] | undefined): void {
        const file = path.join(this.dir, "run", "registries.json");
        if (registries === undefined) {
            fs.rmSync(file, { force: true });
            return;
        }
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(`${file}.tmp`, JSON.stringify({ registries }, null, 2));
        fs.renameSync(`${file}.tmp`, file);
    }

    /** Stops one control-plane process (its pid file is in the state dir); up() starts it again. */
    async stopComponent(name: string): Promise<void> {
        await mustRun(
            ["bash", "-c", `source dev/localcluster/lib.sh && lc_stop "$EKSA_LOCALCLUSTER_DIR/run/${name}.pid"`],
            { env: this.env },
        );
    }
}

/**
 * Which `command` provider plugin a stack of ours runs with. The real pulumi-command plugin when it
 * is installed for the version @pulumi/command asks for; otherwise our stand-in
 * (dev/command-standin/), selected through the project file's `plugins.providers` path, never by
 * registering it as the real plugin.
 */
export function commandProvider(): { kind: "real" | "stand-in"; version: string; path?: string } {
    const sdk = JSON.parse(
        fs.readFileSync(path.join(REPO, "node_modules", "@pulumi", "command", "package.json"), "utf8"),
    );
    const version: string = sdk.pulumi?.version ?? sdk.version;
    const pulumiHome = process.env.PULUMI_HOME ?? path.join(os.homedir(), ".pulumi");
    if (fs.existsSync(path.join(pulumiHome, "plugins", `resource-command-v${version}`, "pulumi-resource-command"))) {
        return { kind: "real", version };
    }
    const standIn = path.join(CACHE, "command-standin", "current");
    if (!fs.existsSync(path.join(standIn, "pulumi-resource-command"))) {
        throw new Error(
            `neither the command plugin v${version} nor our stand-in (${standIn}) is installed: run dev/toolchain/setup.sh`,
        );
    }
    return { kind: "stand-in", version, path: fs.realpathSync(standIn) };
}

/** The components map that leaves only kube-proxy on. */
export const ONLY_KUBE_PROXY = { "kube-controller-manager": false, "kube-scheduler": false, etcd: false };

/**
 * The healthy stacks of the fleet test and benchmark, as fleet-file entries: two on `west`, split by
 * component so that two stacks of ours share a cluster without sharing host ports (each with its own
 * haproxy `healthPort`, as haproxy runs on every node a component of its stack does), one on `east`.
 */
export function healthyFleetStacks(west: LocalCluster, east: LocalCluster) {
    return [
        { name: "west", kubeconfig: west.kubeconfigFile, config: { components: { "kube-proxy": false } } },
        {
            name: "west-nodes",
            kubeconfig: west.kubeconfigFile,
            config: { components: ONLY_KUBE_PROXY, namespace: "eksa-metrics-nodes", healthPort: 10264 },
        },
        { name: "east", kubeconfig: east.kubeconfigFile, config: { components: { "kube-proxy": false } } },
    ];
}

/** The passphrase of every stack the harness makes (file backend, passphrase secrets provider). */
export const STACK_PASSPHRASE = "eksa-metrics-test-passphrase";

export interface ProgramStackOptions {
    /** The program: a directory with Pulumi.yaml (default: the repository's own). */
    program?: string;
    /** The project mirror holding the stack's config (default: a new temporary directory). */
    dir?: string;
    /** The file backend's directory (default: `<dir>/backend`); stacks of a fleet share one. */
    backendDir?: string;
}

/**
 * A stack of the project's own program (index.ts), or of a test program, on a file backend, driven
 * with the real `pulumi` CLI from a project mirror (writeProjectMirror), so no stack config file
 * lands in the repo. Config keys are in the program's own namespace (its project name).
 */
export class ProgramStack {
    readonly dir: string;
    readonly env: NodeJS.ProcessEnv;
    readonly configFile: string;
    private readonly namespace: string;

    constructor(
        readonly name: string,
        options: ProgramStackOptions = {},
    ) {
        this.dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), `eksa-stack-${name}-`));
        fs.mkdirSync(this.dir, { recursive: true });
        const backend = options.backendDir ?? path.join(this.dir, "backend");
        fs.mkdirSync(backend, { recursive: true });
        this.configFile = path.join(this.dir, `Pulumi.${name}.yaml`);
        this.env = {
            ...process.env,
            PULUMI_BACKEND_URL: `file://${backend}`,
            PULUMI_CONFIG_PASSPHRASE: STACK_PASSPHRASE,
        };
        this.namespace = writeProjectMirror(this.dir, options.program);
    }

    pulumi(args: string[], input?: string): Promise<Result> {
        return run(["pulumi", ...args, "--stack", this.name, "--non-interactive"], {
            cwd: this.dir,
            env: this.env,
            input,
        });
    }

    async mustPulumi(args: string[], input?: string): Promise<string> {
        const result = await this.pulumi(args, input);
        if (result.code !== 0) {
            throw new Error(
                `pulumi ${args.join(" ")} (stack ${this.name}) exited ${result.code}:\n${result.stdout}\n${result.stderr}`,
            );
        }
        return result.stdout;
    }

    /** Creates the stack with the cluster's kubeconfig (a secret, given on stdin) and `config`. */
    async init(kubeconfig: string, config: Record<string, unknown> = {}): Promise<void> {
        const init = await run(["pulumi", "stack", "init", this.name, "--non-interactive"], {
            cwd: this.dir,
            env: this.env,
        });
        if (init.code !== 0) {
            throw new Error(`pulumi stack init ${this.name}: ${init.stderr}`);
        }
        await this.mustPulumi(["config", "set", "--secret", `${this.namespace}:kubeconfig`], kubeconfig);
        this.setConfig(config);
    }

    /** Replaces the stack's plain config (the secret kubeconfig and the salt stay). */
    setConfig(config: Record<string, unknown>): void {
        const file = (yaml.load(fs.readFileSync(this.configFile, "utf8")) ?? {}) as {
            config?: Record<string, unknown>;
        };
        const kept = Object.fromEntries(
            Object.entries(file.config ?? {}).filter(([key]) => key === `${this.namespace}:kubeconfig`),
        );
        const plain = Object.fromEntries(
            Object.entries(config).map(([key, value]) => [`${this.namespace}:${key}`, value]),
        );
        fs.writeFileSync(this.configFile, yaml.dump({ ...file, config: { ...kept, ...plain } }));
    }

    /** `pulumi up` as users run it: a preview (with the policy pack), then the update. */
    up(...args: string[]): Promise<Result> {
        return this.pulumi(["up", "--yes", "--policy-pack", path.join(REPO, "policy"), ...args]);
    }

    preview(...args: string[]): Promise<Result> {
        return this.pulumi(["preview", "--policy-pack", path.join(REPO, "policy"), ...args]);
    }

    destroy(): Promise<Result> {
        return this.pulumi(["destroy", "--yes"]);
    }

    async output(name: string, showSecrets = false): Promise<any> {
        return JSON.parse(
            await this.mustPulumi(["stack", "output", name, "--json", ...(showSecrets ? ["--show-secrets"] : [])]),
        );
    }
}

/**
 * A directory that looks like the program's checkout to Pulumi: its own Pulumi.yaml (the program's,
 * with the command provider to use) and a symlink to every other top-level entry (and to the
 * repository's node_modules where the program has none). Programs, commands and the provider then
 * run from it exactly as from a checkout, with the stack's files kept out of it. Returns the
 * project's name (its config namespace).
 */
export function writeProjectMirror(dir: string, program = REPO): string {
    const link = (target: string, entry: string) => {
        if (!fs.existsSync(path.join(dir, entry))) {
            fs.symlinkSync(target, path.join(dir, entry));
        }
    };
    for (const entry of fs.readdirSync(program)) {
        if (entry !== ".git" && !/^Pulumi\..*ya?ml$/.test(entry)) {
            link(path.join(program, entry), entry);
        }
    }
    link(path.join(REPO, "node_modules"), "node_modules");
    const project = yaml.load(fs.readFileSync(path.join(program, "Pulumi.yaml"), "utf8")) as Record<string, unknown>;
    const command = commandProvider();
    if (command.kind === "stand-in") {
        project.plugins = { providers: [{ name: "command", path: command.path }] };
    }
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), yaml.dump(project));
    return String(project.name);
}
