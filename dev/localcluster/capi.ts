/**
 * The real Cluster API core manager (sigs.k8s.io/cluster-api/core, built by dev/toolchain/setup.sh
 * as bin/cluster-api-controller) deployed on a local control plane the way clusterctl lays it out:
 * namespace capi-system, the module's own core CRDs and RBAC (core/config, read at test time from
 * the module directory, with the names kustomize would give them), a webhook serving certificate
 * and the Deployment capi-controller-manager. For the tests; nothing of the product imports it.
 *
 * What the manager needs to start, as measured with v1.14.2 here: every core CRD it watches
 * registered (without Machine's it exits at once, "Unable to setup indexes ... no matches for kind
 * Machine"; with the MachinePool gate on, MachinePool's too), the RBAC of core/config/rbac, and
 * tls.crt/tls.key in --webhook-cert-dir (else "Problem running manager ... open .../tls.crt"), since
 * it always runs its webhook server (/readyz waits for it). The default feature gates of its
 * manager.yaml suit. Not applied, as the apiserver cannot reach a pod's webhook port here: the
 * Validating/MutatingWebhookConfigurations and the CRDs' conversion-webhook patches (the CRDs keep
 * conversion strategy None, their v1beta2 storage version being the one the manager uses), and the
 * webhook Service. Leader election is off (--leader-elect=false), so its Role is applied but unused.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { pinnedVersion } from "../toolchain/versions";
import { LocalCluster, mustRun } from "./driver";

const CACHE = process.env.EKSA_METRICS_CACHE ?? path.join(os.homedir(), ".cache", "eksa-metrics");

export const CAPI_NAMESPACE = "capi-system";
export const CAPI_DEPLOYMENT = "capi-controller-manager";
export const CAPI_SERVICE_ACCOUNT = "capi-manager";
/** The Secret clusterctl's cert-manager Certificate writes (here: openssl, self-signed). */
export const CAPI_WEBHOOK_CERT_SECRET = "capi-webhook-service-cert";
/** The labels of every object of the provider, and of the Deployment's pods. */
export const CAPI_LABELS = { "cluster.x-k8s.io/provider": "cluster-api", "control-plane": "controller-manager" };
export const CAPI_PORTS = { webhook: 9443, healthz: 9440, metrics: 8443 };

/** CLUSTER_API_VERSION of dev/toolchain/versions.sh (the one place it is pinned). */
export function clusterApiVersion(): string {
    return pinnedVersion("CLUSTER_API_VERSION");
}

/** The module directory setup.sh links as $EKSA_METRICS_CACHE/cluster-api/<version>. */
export function clusterApiModuleDir(version = clusterApiVersion()): string {
    const dir = path.join(CACHE, "cluster-api", version);
    if (!fs.existsSync(path.join(dir, "core", "config", "crd", "bases"))) {
        throw new Error(`${dir} holds no core/config/crd/bases: run dev/toolchain/setup.sh cluster-api`);
    }
    return dir;
}

export function clusterApiImage(version = clusterApiVersion()): string {
    return `registry.k8s.io/cluster-api/cluster-api-controller:${version}`;
}

export interface CapiManagerOptions {
    /** Run the pod on the node's network instead of the pod network (default false). */
    hostNetwork?: boolean;
    /** Feature gates over the defaults of the module's core/config/manager/manager.yaml. */
    featureGates?: Record<string, boolean>;
    /** Extra manager arguments, after ours. */
    extraArgs?: string[];
    /** How long to wait for the Deployment to become Available (default 180 s). */
    timeoutSeconds?: number;
}

export interface CapiManager {
    namespace: string;
    deployment: string;
    image: string;
    version: string;
    podName: string;
    /** The pod's IP: the node's IP with hostNetwork, else one of the node's podCIDR. */
    podIP: string;
    hostIP: string;
    nodeName: string;
    hostNetwork: boolean;
    /** https://POD_IP:8443/metrics (controller-runtime's self-signed certificate: do not verify). */
    metricsURL: string;
}

type Obj = {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
    [k: string]: any;
};

function loadDocs(file: string): Obj[] {
    return (yaml.loadAll(fs.readFileSync(file, "utf8")) as (Obj | null)[]).filter(
        (d): d is Obj => !!d && typeof d === "object",
    );
}

const NAME_PREFIX = "capi-";

/**
 * What `kustomize build core/config/default` makes of core/config/rbac: namePrefix capi-,
 * namespace capi-system, the provider label, and manager_role_aggregation_patch.yaml (manager-role
 * labelled for aggregation, the binding bound to the aggregated role).
 */
export function capiRbac(moduleDir = clusterApiModuleDir()): Obj[] {
    const rbacDir = path.join(moduleDir, "core", "config", "rbac");
    const kustomization = yaml.load(fs.readFileSync(path.join(rbacDir, "kustomization.yaml"), "utf8")) as {
        resources: string[];
    };
    const objects = kustomization.resources.flatMap((r) => loadDocs(path.join(rbacDir, r)));
    const namespaced = new Set(["ServiceAccount", "Role", "RoleBinding"]);
    for (const o of objects) {
        o.metadata.name = NAME_PREFIX + o.metadata.name;
        if (namespaced.has(o.kind)) {
            o.metadata.namespace = CAPI_NAMESPACE;
        }
        o.metadata.labels = { ...o.metadata.labels, "cluster.x-k8s.io/provider": "cluster-api" };
        if (o.roleRef) {
            o.roleRef.name = NAME_PREFIX + o.roleRef.name;
        }
        for (const s of o.subjects ?? []) {
            if (s.kind === "ServiceAccount") {
                s.name = NAME_PREFIX + s.name;
                s.namespace = CAPI_NAMESPACE;
            }
        }
        if (o.kind === "ClusterRole" && o.metadata.name === `${NAME_PREFIX}manager-role`) {
            o.metadata.labels["cluster.x-k8s.io/aggregate-to-manager"] = "true";
        }
        if (o.kind === "ClusterRoleBinding" && o.metadata.name === `${NAME_PREFIX}manager-rolebinding`) {
            o.roleRef.name = `${NAME_PREFIX}aggregated-manager-role`;
        }
    }
    const sa = objects.find((o) => o.kind === "ServiceAccount");
    if (sa?.metadata.name !== CAPI_SERVICE_ACCOUNT) {
        throw new Error(`core/config/rbac of ${moduleDir} names no ServiceAccount "manager"`);
    }
    return objects;
}

/**
 * The --feature-gates value of the module's manager.yaml with clusterctl's defaults substituted
 * (`${VAR:=default}` → default), then `overrides` applied.
 */
export function capiFeatureGates(moduleDir = clusterApiModuleDir(), overrides: Record<string, boolean> = {}): string {
    const [deployment] = loadDocs(path.join(moduleDir, "core", "config", "manager", "manager.yaml"));
    const args: string[] = deployment.spec.template.spec.containers[0].args;
    const arg = args.find((a) => a.startsWith("--feature-gates="));
    if (!arg) {
        throw new Error("core/config/manager/manager.yaml sets no --feature-gates");
    }
    const gates = new Map(
        arg
            .slice("--feature-gates=".length)
            .replace(/\$\{[A-Z0-9_]+:=([^}]*)\}/g, "$1")
            .split(",")
            .map((kv) => {
                const [k, v] = kv.split("=");
                return [k, v] as [string, string];
            }),
    );
    for (const [k, v] of Object.entries(overrides)) {
        gates.set(k, String(v));
    }
    return [...gates].map(([k, v]) => `${k}=${v}`).join(",");
}

/** A self-signed serving certificate for the webhook Service's names, as a kubernetes.io/tls Secret. */
async function webhookCertSecret(): Promise<Obj> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capi-cert-"));
    try {
        const service = `${NAME_PREFIX}webhook-service.${CAPI_NAMESPACE}.svc`;
        await mustRun([
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "7",
            "-subj",
            `/CN=${service}`,
            "-addext",
            `subjectAltName=DNS:${service},DNS:${service}.cluster.local`,
            "-keyout",
            path.join(dir, "tls.key"),
            "-out",
            path.join(dir, "tls.crt"),
        ]);
        const b64 = (f: string) => fs.readFileSync(path.join(dir, f)).toString("base64");
        return {
            apiVersion: "v1",
            kind: "Secret",
            type: "kubernetes.io/tls",
            metadata: {
                name: CAPI_WEBHOOK_CERT_SECRET,
                namespace: CAPI_NAMESPACE,
                labels: { "cluster.x-k8s.io/provider": "cluster-api" },
            },
            data: { "tls.crt": b64("tls.crt"), "tls.key": b64("tls.key"), "ca.crt": b64("tls.crt") },
        };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** The Deployment, shaped like clusterctl's (core/config/manager/manager.yaml + the default overlay). */
export function capiDeployment(
    options: CapiManagerOptions = {},
    moduleDir = clusterApiModuleDir(),
    version = clusterApiVersion(),
): Obj {
    const hostNetwork = options.hostNetwork ?? false;
    const fieldEnv = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });
    return {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: CAPI_DEPLOYMENT, namespace: CAPI_NAMESPACE, labels: { ...CAPI_LABELS } },
        spec: {
            replicas: 1,
            selector: { matchLabels: { ...CAPI_LABELS } },
            template: {
                metadata: { labels: { ...CAPI_LABELS } },
                spec: {
                    ...(hostNetwork ? { hostNetwork: true, dnsPolicy: "ClusterFirstWithHostNet" } : {}),
                    serviceAccountName: CAPI_SERVICE_ACCOUNT,
                    terminationGracePeriodSeconds: 10,
                    securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
                    tolerations: [
                        { effect: "NoSchedule", key: "node-role.kubernetes.io/master" },
                        { effect: "NoSchedule", key: "node-role.kubernetes.io/control-plane" },
                    ],
                    containers: [
                        {
                            name: "manager",
                            image: clusterApiImage(version),
                            imagePullPolicy: "IfNotPresent",
                            command: ["/manager"],
                            args: [
                                "--leader-elect=false",
                                `--diagnostics-address=:${CAPI_PORTS.metrics}`,
                                "--insecure-diagnostics=false",
                                `--feature-gates=${capiFeatureGates(moduleDir, options.featureGates)}`,
                                `--webhook-port=${CAPI_PORTS.webhook}`,
                                "--webhook-cert-dir=/tmp/k8s-webhook-server/serving-certs",
                                `--health-addr=:${CAPI_PORTS.healthz}`,
                                ...(options.extraArgs ?? []),
                            ],
                            env: [
                                fieldEnv("POD_NAMESPACE", "metadata.namespace"),
                                fieldEnv("POD_NAME", "metadata.name"),
                                fieldEnv("POD_UID", "metadata.uid"),
                            ],
                            ports: [
                                { containerPort: CAPI_PORTS.webhook, name: "webhook-server", protocol: "TCP" },
                                { containerPort: CAPI_PORTS.healthz, name: "healthz", protocol: "TCP" },
                                { containerPort: CAPI_PORTS.metrics, name: "metrics", protocol: "TCP" },
                            ],
                            readinessProbe: { httpGet: { path: "/readyz", port: "healthz" } },
                            livenessProbe: { httpGet: { path: "/healthz", port: "healthz" } },
                            securityContext: {
                                allowPrivilegeEscalation: false,
                                capabilities: { drop: ["ALL"] },
                                privileged: false,
                                runAsUser: 65532,
                                runAsGroup: 65532,
                            },
                            terminationMessagePolicy: "FallbackToLogsOnError",
                            volumeMounts: [
                                { mountPath: "/tmp/k8s-webhook-server/serving-certs", name: "cert", readOnly: true },
                            ],
                        },
                    ],
                    volumes: [{ name: "cert", secret: { secretName: CAPI_WEBHOOK_CERT_SECRET } }],
                },
            },
        },
    };
}

/** Applies the module's core CRDs (core/config/crd/bases; server-side: some exceed the annotation limit). */
export async function applyCapiCrds(cluster: LocalCluster, moduleDir = clusterApiModuleDir()): Promise<string[]> {
    const dir = path.join(moduleDir, "core", "config", "crd", "bases");
    await cluster.mustKubectl([
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=eksa-metrics-capi",
        "-f",
        dir,
    ]);
    const names = fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(".yaml"))
        .flatMap((f) => loadDocs(path.join(dir, f)))
        .map((o) => o.metadata.name);
    await cluster.mustKubectl([
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        ...names.map((n) => `crd/${n}`),
    ]);
    return names;
}

/**
 * Deploys the core manager on `cluster` and waits until its Deployment is Available; returns its
 * pod. Idempotent (apply); a changed Deployment rolls out.
 */
export async function deployCapiManager(cluster: LocalCluster, options: CapiManagerOptions = {}): Promise<CapiManager> {
    const version = clusterApiVersion();
    const moduleDir = clusterApiModuleDir(version);
    await applyCapiCrds(cluster, moduleDir);
    const namespace: Obj = {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: CAPI_NAMESPACE, labels: { ...CAPI_LABELS } },
    };
    const items = [
        namespace,
        ...capiRbac(moduleDir),
        await webhookCertSecret(),
        capiDeployment(options, moduleDir, version),
    ];
    await cluster.mustKubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items }));
    const timeout = `${options.timeoutSeconds ?? 180}s`;
    const deployment = `deployment/${CAPI_DEPLOYMENT}`;
    try {
        await cluster.mustKubectl(["-n", CAPI_NAMESPACE, "rollout", "status", deployment, `--timeout=${timeout}`]);
        await cluster.mustKubectl([
            "-n",
            CAPI_NAMESPACE,
            "wait",
            "--for=condition=Available",
            deployment,
            `--timeout=${timeout}`,
        ]);
    } catch (e) {
        const pods = await cluster.kubectl(["-n", CAPI_NAMESPACE, "get", "pods", "-o", "wide"]);
        const events = await cluster.kubectl(["-n", CAPI_NAMESPACE, "get", "events", "--sort-by=.lastTimestamp"]);
        const logs = await cluster.kubectl(["-n", CAPI_NAMESPACE, "logs", deployment, "--tail=40"]);
        throw new Error(
            `${(e as Error).message}\npods:\n${pods.stdout}${pods.stderr}\nevents:\n${events.stdout}\nlogs:\n${logs.stdout}${logs.stderr}`,
        );
    }
    const selector = Object.entries(CAPI_LABELS)
        .map(([k, v]) => `${k}=${v}`)
        .join(",");
    const list = JSON.parse(
        await cluster.mustKubectl(["-n", CAPI_NAMESPACE, "get", "pods", "-l", selector, "-o", "json"]),
    );
    const ready = list.items.filter(
        (p: any) =>
            !p.metadata.deletionTimestamp &&
            p.status.phase === "Running" &&
            (p.status.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True"),
    );
    if (ready.length !== 1) {
        throw new Error(`expected one ready ${CAPI_DEPLOYMENT} pod, found ${ready.length}`);
    }
    const pod = ready[0];
    return {
        namespace: CAPI_NAMESPACE,
        deployment: CAPI_DEPLOYMENT,
        image: clusterApiImage(version),
        version,
        podName: pod.metadata.name,
        podIP: pod.status.podIP,
        hostIP: pod.status.hostIP,
        nodeName: pod.spec.nodeName,
        hostNetwork: !!pod.spec.hostNetwork,
        metricsURL: `https://${pod.status.podIP}:${CAPI_PORTS.metrics}/metrics`,
    };
}

/** Removes what deployCapiManager made: the namespace (with its pods), the cluster-scoped RBAC and the CRDs. */
export async function removeCapiManager(cluster: LocalCluster, options: { keepCrds?: boolean } = {}): Promise<void> {
    const moduleDir = clusterApiModuleDir();
    await cluster.mustKubectl([
        "delete",
        "namespace",
        CAPI_NAMESPACE,
        "--ignore-not-found",
        "--wait=true",
        "--timeout=120s",
    ]);
    const clusterScoped = capiRbac(moduleDir).filter(
        (o) => o.kind === "ClusterRole" || o.kind === "ClusterRoleBinding",
    );
    await cluster.mustKubectl([
        "delete",
        "--ignore-not-found",
        ...clusterScoped.map((o) => `${o.kind.toLowerCase()}/${o.metadata.name}`),
    ]);
    if (!options.keepCrds) {
        await deleteCrds(cluster, path.join(moduleDir, "core", "config", "crd", "bases"));
    }
}

interface CrdState {
    metadata: { name: string };
    status?: { conditions?: { type: string; reason?: string; message?: string }[] };
}

/** How long the CRDs may take to go; kubectl's own wait had no limit. */
const CRD_DELETION_SECONDS = 120;

/**
 * Deletes the CRDs in `dir` and waits until they are gone. A CRD deleted soon after it was created can
 * stay Terminating with "could not list instances: storage is (re)initializing": the API server's CRD
 * finalizer failed once and retries only after its back-off, minutes later (seen here for 3 minutes;
 * operator-framework/operator-controller#1437). Touching the CRD queues it for the finalizer again at once.
 */
async function deleteCrds(cluster: LocalCluster, dir: string): Promise<void> {
    await cluster.mustKubectl(["delete", "--ignore-not-found", "--wait=false", "-f", dir]);
    const deadline = Date.now() + CRD_DELETION_SECONDS * 1000;
    for (;;) {
        // Nothing at all once every CRD is gone; the one left, or a List of those left, otherwise.
        const listed = (await cluster.mustKubectl(["get", "--ignore-not-found", "-f", dir, "-o", "json"])).trim();
        const parsed = listed === "" ? { kind: "List", items: [] } : JSON.parse(listed);
        const left: CrdState[] = parsed.kind === "List" ? parsed.items : [parsed];
        if (left.length === 0) {
            return;
        }
        const stuck = left.filter((crd) =>
            crd.status?.conditions?.some((c) => c.type === "Terminating" && c.reason === "InstanceDeletionFailed"),
        );
        if (Date.now() >= deadline) {
            throw new Error(
                `CRDs still there ${CRD_DELETION_SECONDS} s after their deletion: ${left
                    .map(
                        (crd) =>
                            `${crd.metadata.name} (${crd.status?.conditions?.find((c) => c.type === "Terminating")?.message ?? "not terminating"})`,
                    )
                    .join(", ")}`,
            );
        }
        for (const crd of stuck) {
            // Not mustKubectl: the CRD may be gone by now, which is what we wait for.
            await cluster.kubectl([
                "annotate",
                "--overwrite",
                "crd",
                crd.metadata.name,
                `eksa-metrics.dev/requeued-at=${Date.now()}`,
            ]);
        }
        await new Promise((resolve) => setTimeout(resolve, 2000));
    }
}
