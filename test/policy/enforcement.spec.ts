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
    AnalyzerResourceOptions,
    AnalyzeRequest,
    AnalyzerInfo,
    AnalyzeResponse,
    ConfigureAnalyzerRequest,
    EnforcementLevel,
    PolicyConfig,
} from "../../policy/node_modules/@pulumi/pulumi/proto/analyzer_pb";
import { UNKNOWN_DURING_PREVIEW } from "../../policy/policies/controlPlaneBindAddressUnknownDuringPreview";
import { NOT_ON_ALL_INTERFACES } from "../../policy/policies/controlPlaneNotOnAllInterfaces";
import { asConfigFileChild, fixture, RegisteredResource, UNKNOWN_DURING_PREVIEW as SENTINEL, withValue } from "./harness";

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
}

describe("policy pack enforcement levels (real pack over the Analyzer protocol)", function () {
    this.timeout(120_000);
    let pack: ChildProcess | undefined;
    let client: AnalyzerClient;
    let stderr = "";

    before(async () => {
        const runPolicyPack = path.join(POLICY_DIR, "node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack");
        const child = spawn(process.execPath, [runPolicyPack, "127.0.0.1:0", "."], { cwd: POLICY_DIR, stdio: ["ignore", "pipe", "pipe"] });
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
            child.on("exit", (code) => reject(new Error(`policy pack exited with ${code} before printing its port:\n${stderr}`)));
        });
        client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    });

    after(() => {
        client?.close();
        pack?.kill();
    });

    function call<Res>(invoke: (callback: (error: grpc.ServiceError | null, response: Res) => void) => unknown): Promise<Res> {
        return new Promise((resolve, reject) => invoke((error, response) => (error ? reject(error) : resolve(response))));
    }

    async function analyze(resource: RegisteredResource): Promise<{ diagnostics: Diagnostic[]; notApplicable: string[] }> {
        const request = new AnalyzeRequest()
            .setType(resource.type)
            .setName(resource.name)
            .setUrn(`urn:pulumi:test::eksa-metrics::${resource.type}::${resource.name}`)
            .setProperties(Struct.fromJavaScript(resource.props as Record<string, never>))
            .setOptions(new AnalyzerResourceOptions());
        const response = await call<AnalyzeResponse>((callback) => client.analyze(request, callback));
        return {
            diagnostics: response.getDiagnosticsList().map((d: AnalyzeDiagnostic) => ({ policy: d.getPolicyname(), level: d.getEnforcementlevel(), message: d.getMessage() })),
            notApplicable: response.getNotApplicableList().map((n) => n.getPolicyName()),
        };
    }

    /** What the CLI sends for `--policy-pack-config` (an empty map when there is none). */
    async function configure(levels: Record<string, EnforcementLevel>): Promise<void> {
        const request = new ConfigureAnalyzerRequest();
        for (const [policy, level] of Object.entries(levels)) {
            request.getPolicyconfigMap().set(policy, new PolicyConfig().setEnforcementlevel(level).setProperties(Struct.fromJavaScript({})));
        }
        await call((callback) => client.configure(request, callback));
    }

    const exposedScheduler = () => asConfigFileChild(fixture("kube-scheduler.yaml", "kube-scheduler-all-interfaces"));

    it("advertises the pack: mandatory by default, the preview note advisory", async () => {
        const info = await call<AnalyzerInfo>((callback) => client.getAnalyzerInfo(new Empty(), callback));
        assert.strictEqual(info.getName(), "eksa-metrics");
        assert.deepStrictEqual(
            info.getPoliciesList().map((p) => [p.getName(), p.getEnforcementlevel()]),
            [
                [NOT_ON_ALL_INTERFACES, EnforcementLevel.MANDATORY],
                [UNKNOWN_DURING_PREVIEW, EnforcementLevel.ADVISORY],
            ],
        );
    });

    it("reports a violation as mandatory by default", async () => {
        await configure({});
        const { diagnostics } = await analyze(exposedScheduler());
        assert.strictEqual(diagnostics.length, 1, JSON.stringify(diagnostics));
        assert.strictEqual(diagnostics[0].policy, NOT_ON_ALL_INTERFACES);
        assert.strictEqual(diagnostics[0].level, EnforcementLevel.MANDATORY);
        assert.ok(diagnostics[0].message.includes('spec.containers[0].command[3] = "--bind-address=0.0.0.0"'), diagnostics[0].message);
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
        const props = withValue(kcp.props, ["spec", "kubeadmConfigSpec", "clusterConfiguration", "controllerManager", "extraArgs", "bind-address"], SENTINEL);

        await configure({});
        const byDefault = await analyze({ ...kcp, props });
        assert.deepStrictEqual(
            byDefault.diagnostics.map((d) => [d.policy, d.level]),
            [
                [NOT_ON_ALL_INTERFACES, EnforcementLevel.MANDATORY],
                [UNKNOWN_DURING_PREVIEW, EnforcementLevel.ADVISORY],
            ],
        );
        assert.ok(byDefault.diagnostics[0].message.includes('scheduler.extraArgs["bind-address"] = "0.0.0.0"'), byDefault.diagnostics[0].message);
        assert.ok(
            byDefault.diagnostics[1].message.includes('controllerManager.extraArgs["bind-address"] is unknown during preview') &&
                byDefault.diagnostics[1].message.includes("checked on `pulumi up`"),
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

    it("marks both policies not applicable to unrelated resources", async () => {
        await configure({});
        const result = await analyze({ type: "kubernetes:core/v1:Service", name: "svc", props: { metadata: { name: "svc" }, spec: { ports: [{ port: 80 }] } } });
        assert.deepStrictEqual(result.diagnostics, []);
        assert.deepStrictEqual(result.notApplicable.sort(), [NOT_ON_ALL_INTERFACES, UNKNOWN_DURING_PREVIEW].sort());
    });
});
