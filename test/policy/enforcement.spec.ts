// Enforcement levels as the Pulumi CLI applies them. This starts the real pack (policy/index.ts)
// the way the CLI's policy analyzer does — @pulumi/pulumi's run-policy-pack, which prints the gRPC
// port — and speaks the Analyzer protocol to it: GetAnalyzerInfo, Configure (what
// `--policy-pack-config` turns into) and Analyze with resource properties as the engine sends them.

import * as assert from "assert";
import { ChildProcess, spawn } from "child_process";
import { createRequire } from "module";
import * as path from "path";
import * as grpc from "../../policy/node_modules/@grpc/grpc-js";
import { AnalyzerClient } from "../../policy/node_modules/@pulumi/pulumi/proto/analyzer_grpc_pb";
import {
    AnalyzeDiagnostic,
    AnalyzerResource,
    AnalyzerResourceOptions,
    AnalyzeRequest,
    AnalyzeStackRequest,
    AnalyzerInfo,
    AnalyzeResponse,
    ConfigureAnalyzerRequest,
    EnforcementLevel,
    PolicyConfig,
} from "../../policy/node_modules/@pulumi/pulumi/proto/analyzer_pb";
import { CLUSTER_CLASS_BIND_ADDRESS_UNKNOWN } from "../../policy/policies/clusterClassBindAddressUnknownDuringPreview";
import { CLUSTER_CLASS_BIND_ADDRESS } from "../../policy/policies/clusterClassControlPlaneMetricsNotOnAllInterfaces";
import { UNKNOWN_DURING_PREVIEW } from "../../policy/policies/controlPlaneMetricsBindAddressUnknownDuringPreview";
import { NOT_ON_ALL_INTERFACES } from "../../policy/policies/controlPlaneMetricsNotOnAllInterfaces";
import { CONTROLLER_DIAGNOSTICS } from "../../policy/policies/controllerDiagnosticsAuthenticated";
import { ETCD_METRICS } from "../../policy/policies/etcdMetricsNotExposed";
import { KUBE_PROXY_METRICS } from "../../policy/policies/kubeProxyMetricsNotOnAllInterfaces";
import { METRICS_EXPOSURE_UNKNOWN } from "../../policy/policies/metricsExposureUnknownDuringPreview";
import { METRICS_READABLE } from "../../policy/policies/metricsNotReadableByEveryone";
import { INSECURE_PROXY } from "../../policy/policies/noInsecureMetricsProxy";
import { NON_RESOURCE_WILDCARD } from "../../policy/policies/nonResourceWildcardForAdminsOnly";
import {
    asConfigFileChild,
    fixture,
    fixtureDocuments,
    RegisteredResource,
    UNKNOWN_DURING_PREVIEW as SENTINEL,
    urnOf,
    withValue,
} from "./harness";

const POLICY_DIR = path.join(__dirname, "..", "..", "policy");

// The pack's google-protobuf (the one its generated protocol classes use).
type StructModule = typeof import("../../policy/node_modules/@types/google-protobuf/google/protobuf/struct_pb");
type EmptyModule = typeof import("../../policy/node_modules/@types/google-protobuf/google/protobuf/empty_pb");
const requireFromPack = createRequire(path.join(POLICY_DIR, "package.json"));
const { Struct } = requireFromPack("google-protobuf/google/protobuf/struct_pb") as StructModule;
const { Empty } = requireFromPack("google-protobuf/google/protobuf/empty_pb") as EmptyModule;

interface Diagnostic {
    policy: string;
    level: EnforcementLevel;
    message: string;
    urn: string;
}

describe("policy pack enforcement levels (real pack over the Analyzer protocol)", function () {
    this.timeout(120_000);
    let pack: ChildProcess | undefined;
    let client: AnalyzerClient;
    let stderr = "";

    before(async () => {
        const runPolicyPack = path.join(POLICY_DIR, "node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack");
        const child = spawn(process.execPath, [runPolicyPack, "127.0.0.1:0", "."], {
            cwd: POLICY_DIR,
            stdio: ["ignore", "pipe", "pipe"],
        });
        pack = child;
        child.stderr!.on("data", (chunk) => (stderr += chunk));
        const port = await new Promise<string>((resolve, reject) => {
            let stdout = "";
            child.stdout!.on("data", (chunk) => {
                stdout += chunk;
                const line = /^(\d+)\n/.exec(stdout);
                if (line) {
                    resolve(line[1]);
                }
            });
            child.on("exit", (code) =>
                reject(new Error(`policy pack exited with ${code} before printing its port:\n${stderr}`)),
            );
        });
        client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    });

    after(() => {
        client?.close();
        pack?.kill();
    });

    function call<Res>(
        invoke: (callback: (error: grpc.ServiceError | null, response: Res) => void) => unknown,
    ): Promise<Res> {
        return new Promise((resolve, reject) =>
            invoke((error, response) => (error ? reject(error) : resolve(response))),
        );
    }

    function results(response: AnalyzeResponse): { diagnostics: Diagnostic[]; notApplicable: string[] } {
        return {
            diagnostics: response.getDiagnosticsList().map((d: AnalyzeDiagnostic) => ({
                policy: d.getPolicyname(),
                level: d.getEnforcementlevel(),
                message: d.getMessage(),
                urn: d.getUrn(),
            })),
            notApplicable: response.getNotApplicableList().map((n) => n.getPolicyName()),
        };
    }

    async function analyze(
        resource: RegisteredResource,
    ): Promise<{ diagnostics: Diagnostic[]; notApplicable: string[] }> {
        const request = new AnalyzeRequest()
            .setType(resource.type)
            .setName(resource.name)
            .setUrn(urnOf(resource))
            .setProperties(Struct.fromJavaScript(resource.props as Record<string, never>))
            .setOptions(new AnalyzerResourceOptions());
        return results(await call<AnalyzeResponse>((callback) => client.analyze(request, callback)));
    }

    /** What the engine sends once every resource of the program is registered (stack policies). */
    async function analyzeStack(resources: readonly RegisteredResource[]): Promise<{ diagnostics: Diagnostic[] }> {
        const request = new AnalyzeStackRequest().setResourcesList(
            resources.map((r) =>
                new AnalyzerResource()
                    .setType(r.type)
                    .setName(r.name)
                    .setUrn(urnOf(r))
                    .setProperties(Struct.fromJavaScript(r.props as Record<string, never>))
                    .setOptions(new AnalyzerResourceOptions()),
            ),
        );
        return results(await call<AnalyzeResponse>((callback) => client.analyzeStack(request, callback)));
    }

    /** What the CLI sends for `--policy-pack-config` (an empty map when there is none): a level, or a level and properties. */
    async function configure(
        config: Record<string, EnforcementLevel | { level: EnforcementLevel; properties: Record<string, unknown> }>,
    ): Promise<void> {
        const request = new ConfigureAnalyzerRequest();
        for (const [policy, value] of Object.entries(config)) {
            const { level, properties } = typeof value === "object" ? value : { level: value, properties: {} };
            request
                .getPolicyconfigMap()
                .set(
                    policy,
                    new PolicyConfig()
                        .setEnforcementlevel(level)
                        .setProperties(Struct.fromJavaScript(properties as Record<string, never>)),
                );
        }
        await call((callback) => client.configure(request, callback));
    }

    const exposedScheduler = () => asConfigFileChild(fixture("kube-scheduler.yaml", "kube-scheduler-all-interfaces"));

    it("advertises the pack: mandatory by default; the preview notes and the wildcard warning advisory", async () => {
        const info = await call<AnalyzerInfo>((callback) => client.getAnalyzerInfo(new Empty(), callback));
        assert.strictEqual(info.getName(), "eksa-metrics");
        assert.deepStrictEqual(
            info.getPoliciesList().map((p) => [p.getName(), p.getEnforcementlevel()]),
            [
                [NOT_ON_ALL_INTERFACES, EnforcementLevel.MANDATORY],
                [UNKNOWN_DURING_PREVIEW, EnforcementLevel.ADVISORY],
                [CLUSTER_CLASS_BIND_ADDRESS, EnforcementLevel.MANDATORY],
                [CLUSTER_CLASS_BIND_ADDRESS_UNKNOWN, EnforcementLevel.ADVISORY],
                [KUBE_PROXY_METRICS, EnforcementLevel.MANDATORY],
                [ETCD_METRICS, EnforcementLevel.MANDATORY],
                [CONTROLLER_DIAGNOSTICS, EnforcementLevel.MANDATORY],
                [METRICS_READABLE, EnforcementLevel.MANDATORY],
                [NON_RESOURCE_WILDCARD, EnforcementLevel.ADVISORY],
                [INSECURE_PROXY, EnforcementLevel.MANDATORY],
                [METRICS_EXPOSURE_UNKNOWN, EnforcementLevel.ADVISORY],
            ],
        );
        // The knobs travel with the pack, as the CLI validates --policy-pack-config against them.
        const schemas = new Map(
            info.getPoliciesList().map((p) => [p.getName(), p.getConfigschema()?.getProperties()?.toJavaScript()]),
        );
        assert.deepStrictEqual(Object.keys(schemas.get(KUBE_PROXY_METRICS) ?? {}), ["allowedHosts"]);
        assert.deepStrictEqual(Object.keys(schemas.get(ETCD_METRICS) ?? {}), ["allowedHosts"]);
        assert.deepStrictEqual(Object.keys(schemas.get(NON_RESOURCE_WILDCARD) ?? {}), ["adminSubjects"]);
    });

    it("reports a violation as mandatory by default", async () => {
        await configure({});
        const { diagnostics } = await analyze(exposedScheduler());
        assert.strictEqual(diagnostics.length, 1, JSON.stringify(diagnostics));
        assert.strictEqual(diagnostics[0].policy, NOT_ON_ALL_INTERFACES);
        assert.strictEqual(diagnostics[0].level, EnforcementLevel.MANDATORY);
        assert.ok(
            diagnostics[0].message.includes('spec.containers[0].command[3] = "--bind-address=0.0.0.0"'),
            diagnostics[0].message,
        );
    });

    it("honours a configured advisory level", async () => {
        await configure({ [NOT_ON_ALL_INTERFACES]: EnforcementLevel.ADVISORY });
        const { diagnostics } = await analyze(exposedScheduler());
        assert.deepStrictEqual(
            diagnostics.map((d) => [d.policy, d.level]),
            [[NOT_ON_ALL_INTERFACES, EnforcementLevel.ADVISORY]],
        );
    });

    it("honours a configured disabled level", async () => {
        await configure({ [NOT_ON_ALL_INTERFACES]: EnforcementLevel.DISABLED });
        const { diagnostics } = await analyze(exposedScheduler());
        assert.deepStrictEqual(diagnostics, []);
    });

    it("names unknown values (advisory by default; mandatory when configured) and still enforces known ones", async () => {
        // kube-scheduler's address known and exposed, kube-controller-manager's unknown during preview.
        const kcp = asConfigFileChild(fixture("kubeadm-control-plane-v1beta1.yaml", "w02"));
        const props = withValue(
            kcp.props,
            ["spec", "kubeadmConfigSpec", "clusterConfiguration", "controllerManager", "extraArgs", "bind-address"],
            SENTINEL,
        );

        await configure({});
        const byDefault = await analyze({ ...kcp, props });
        assert.deepStrictEqual(
            byDefault.diagnostics.map((d) => [d.policy, d.level]),
            [
                [NOT_ON_ALL_INTERFACES, EnforcementLevel.MANDATORY],
                [UNKNOWN_DURING_PREVIEW, EnforcementLevel.ADVISORY],
            ],
        );
        assert.ok(
            byDefault.diagnostics[0].message.includes('scheduler.extraArgs["bind-address"] = "0.0.0.0"'),
            byDefault.diagnostics[0].message,
        );
        assert.ok(
            byDefault.diagnostics[1].message.includes(
                'controllerManager.extraArgs["bind-address"] is unknown during preview',
            ) && byDefault.diagnostics[1].message.includes("checked on `pulumi up`"),
            byDefault.diagnostics[1].message,
        );
        assert.ok(!byDefault.diagnostics.some((d) => d.message.includes("can't run policy")), "no policy bailed out");

        await configure({ [UNKNOWN_DURING_PREVIEW]: EnforcementLevel.MANDATORY });
        const strict = await analyze({ ...kcp, props });
        assert.deepStrictEqual(
            strict.diagnostics.map((d) => [d.policy, d.level]),
            [
                [NOT_ON_ALL_INTERFACES, EnforcementLevel.MANDATORY],
                [UNKNOWN_DURING_PREVIEW, EnforcementLevel.MANDATORY],
            ],
        );
    });

    it("marks every resource policy not applicable to unrelated resources", async () => {
        await configure({});
        const result = await analyze({
            type: "kubernetes:core/v1:Service",
            name: "svc",
            props: { metadata: { name: "svc" }, spec: { ports: [{ port: 80 }] } },
        });
        assert.deepStrictEqual(result.diagnostics, []);
        assert.deepStrictEqual(
            result.notApplicable.sort(),
            [
                NOT_ON_ALL_INTERFACES,
                UNKNOWN_DURING_PREVIEW,
                KUBE_PROXY_METRICS,
                ETCD_METRICS,
                CONTROLLER_DIAGNOSTICS,
                METRICS_EXPOSURE_UNKNOWN,
            ].sort(),
        );
    });

    it("new resource policies: mandatory by default, a configured level, and configSchema properties (allowedHosts)", async () => {
        const kubeProxy = asConfigFileChild(fixture("kube-proxy-configmap.yaml", "kube-proxy-kube-prometheus"));
        await configure({});
        assert.deepStrictEqual(
            (await analyze(kubeProxy)).diagnostics.map((d) => [d.policy, d.level]),
            [[KUBE_PROXY_METRICS, EnforcementLevel.MANDATORY]],
        );
        await configure({ [KUBE_PROXY_METRICS]: EnforcementLevel.ADVISORY });
        assert.deepStrictEqual(
            (await analyze(kubeProxy)).diagnostics.map((d) => [d.policy, d.level]),
            [[KUBE_PROXY_METRICS, EnforcementLevel.ADVISORY]],
        );
        await configure({
            [KUBE_PROXY_METRICS]: { level: EnforcementLevel.MANDATORY, properties: { allowedHosts: ["0.0.0.0"] } },
        });
        assert.deepStrictEqual((await analyze(kubeProxy)).diagnostics, []);
    });

    it("new preview notes are advisory by default: an unknown etcd extraArgs does not block the preview", async () => {
        const kcp = asConfigFileChild(fixture("kubeadm-etcd.yaml", "w06-etcd-map"));
        const props = withValue(
            kcp.props,
            ["spec", "kubeadmConfigSpec", "clusterConfiguration", "etcd", "local", "extraArgs", "listen-metrics-urls"],
            SENTINEL,
        );
        await configure({});
        const { diagnostics } = await analyze({ ...kcp, props });
        assert.deepStrictEqual(
            diagnostics.map((d) => [d.policy, d.level]),
            [[METRICS_EXPOSURE_UNKNOWN, EnforcementLevel.ADVISORY]],
        );
        assert.ok(
            diagnostics[0].message.includes(`[${ETCD_METRICS}] `) &&
                diagnostics[0].message.includes("unknown during preview"),
            diagnostics[0].message,
        );
    });

    it("stack policies: the docs page's ConfigMap + DaemonSet fail (naming both), RBAC is judged across resources, levels apply", async () => {
        const docs = fixtureDocuments("docs-metrics-proxy.yaml").map(asConfigFileChild);
        await configure({});
        const { diagnostics } = await analyzeStack(docs);
        assert.deepStrictEqual(
            [...new Set(diagnostics.map((d) => `${d.policy} ${d.level}`))],
            [`${INSECURE_PROXY} ${EnforcementLevel.MANDATORY}`],
        );
        assert.deepStrictEqual([...new Set(diagnostics.map((d) => d.urn))].sort(), docs.map(urnOf).sort());

        const rbac = fixtureDocuments("rbac.yaml").map(asConfigFileChild);
        const levels = async () => [
            ...new Set((await analyzeStack(rbac)).diagnostics.map((d) => `${d.policy} ${d.level}`)),
        ];
        assert.deepStrictEqual(await levels(), [
            `${METRICS_READABLE} ${EnforcementLevel.MANDATORY}`,
            `${NON_RESOURCE_WILDCARD} ${EnforcementLevel.ADVISORY}`,
        ]);
        await configure({
            [METRICS_READABLE]: EnforcementLevel.ADVISORY,
            [NON_RESOURCE_WILDCARD]: EnforcementLevel.DISABLED,
        });
        assert.deepStrictEqual(await levels(), [`${METRICS_READABLE} ${EnforcementLevel.ADVISORY}`]);
    });
});
