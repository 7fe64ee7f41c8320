/**
 * Real haproxy and real kube-rbac-proxy, started exactly as the DaemonSets start them (same
 * command, args, environment and file paths), on two "nodes" (127.0.0.2 control plane,
 * 127.0.0.3 worker) in front of stand-ins for the components; then the real verification logic
 * (curl) against them. Runs in a private network/mount namespace (see sandbox.sh).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as path from "path";
import { catalogueEntry, componentsFor, NodeRole, REFUSAL_HEADER } from "../../core/catalogue";
import {
    HAPROXY_CONFIG_DIR,
    HAPROXY_CONFIG_FILE,
    HAPROXY_PEM_FILE,
    renderHaproxyConfig,
    TLS_DIR,
} from "../../components/haproxy";
import { gateContainerName, proxyPodTemplate } from "../../components/proxyPod";
import { kubeRbacProxyHostFor } from "../../components/daemonSets";
import { DEFAULT_AUTH_FAILURE_LIMIT, resolveSettings } from "../../config/settings";
import { issueProxyCertificate } from "../../components/tls";
import { VerificationPlan } from "../../verify/plan";
import { verify } from "../../verify/localMode";
import {
    closeAll,
    fakeApiServer,
    fakeAuthenticatingComponent,
    FakeBehaviour,
    fakeOpenComponent,
    GATE_SA_TOKEN,
    READER_TOKEN,
    STRANGER_TOKEN,
    Tls,
} from "../support/fakeComponents";
import { Running, start, stop, waitForPort } from "../support/processes";
import { mountScratch } from "../support/sandbox";
import { ClusterNode } from "../../core/kubernetes";

const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
const API_PORT = 6443;
const NODES: (ClusterNode & { role: NodeRole })[] = [
    {
        name: "cp-1",
        internalIP: "127.0.0.2",
        role: "control-plane",
        labels: { "node-role.kubernetes.io/control-plane": "" },
        taints: [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }],
    },
    { name: "worker-1", internalIP: "127.0.0.3", role: "worker", labels: {}, taints: [] },
];

describe("the proxy pods, for real, in front of stand-in components", function () {
    this.timeout(180_000);
    const settings = resolveSettings({});
    const behaviour: Record<string, FakeBehaviour> = {
        "kube-controller-manager": { denyReader: false },
        "kube-scheduler": { denyReader: false },
    };
    const processes = new Map<string, Running>();
    const upstreams = new Map<string, http.Server>();
    let apiServer: http.Server;
    let upstreamTls: Tls;
    let plan: VerificationPlan;

    const gateHost = (role: NodeRole) => kubeRbacProxyHostFor("test", role);
    const template = (role: NodeRole) =>
        proxyPodTemplate({
            role,
            components: componentsFor(role, settings.components),
            settings,
            labels: {},
            serviceAccountName: "proxy",
            haproxyConfigMapName: "cfg",
            kubeRbacProxyHost: gateHost(role),
            tlsSecretName: "tls",
            proxyImage: "haproxy",
            gateImage: "kube-rbac-proxy",
            proxyResources: {},
            gateResources: {},
        }).spec as any;

    /** Starts one container of a node's pod the way the kubelet would: its command, args and env. */
    async function startContainer(
        node: (typeof NODES)[number],
        containerName: string,
        mutateArgs: (args: string[]) => string[] = (a) => a,
    ) {
        const container = template(node.role).containers.find((c: any) => c.name === containerName);
        assert.ok(container, `${containerName} is not in the ${node.role} pod`);
        const expand = (s: string) => s.replace("$(NODE_IP)", node.internalIP!);
        // Each pod mounts its own role's haproxy.cfg; here they share one directory.
        const ownConfig = (a: string) => (a.endsWith(`/${HAPROXY_CONFIG_FILE}`) ? haproxyConfigFile(node.role) : a);
        const argv = mutateArgs([...container.command, ...(container.args ?? [])].map(expand).map(ownConfig));
        const running = start(`${node.name}/${containerName}`, argv, {
            NODE_IP: node.internalIP!,
            // In a cluster these point at the kubernetes Service; here at the stand-in API server.
            KUBERNETES_SERVICE_HOST: "localhost",
            KUBERNETES_SERVICE_PORT: String(API_PORT),
        });
        processes.set(`${node.name}/${containerName}`, running);
        // The pods declare no ports: haproxy's are its config's binds.
        if (containerName === "haproxy") {
            const config = fs.readFileSync(haproxyConfigFile(node.role), "utf8");
            for (const m of config.matchAll(/bind "\$\{NODE_IP\}:(\d+)"/g)) {
                await waitForPort(running, node.internalIP!, Number(m[1]));
            }
        }
        // kube-rbac-proxy publishes no port: it listens on its loopback address.
        const listen = argv.find((a) => a.startsWith("--secure-listen-address="))?.split("=")[1];
        if (listen) {
            await waitForPort(running, listen.split(":")[0], Number(listen.split(":")[1]));
        }
    }

    async function restartContainer(
        node: (typeof NODES)[number],
        containerName: string,
        mutateArgs?: (args: string[]) => string[],
    ) {
        await stop(processes.get(`${node.name}/${containerName}`));
        await startContainer(node, containerName, mutateArgs);
    }

    const haproxyConfigFile = (role: NodeRole) => path.join(HAPROXY_CONFIG_DIR, `${role}-${HAPROXY_CONFIG_FILE}`);

    function writeHaproxyConfig(role: NodeRole, transform: (cfg: string) => string = (c) => c) {
        fs.writeFileSync(
            haproxyConfigFile(role),
            transform(
                renderHaproxyConfig({
                    components: componentsFor(role, settings.components),
                    kubeRbacProxyHost: gateHost(role),
                    healthPort: settings.healthPort,
                    serverTimeoutSeconds: settings.serverTimeoutSeconds,
                    description: `test ${role}`,
                }),
            ),
        );
    }

    /** Runs `body` with haproxy on `node` rendered without its GET /metrics filter, then restores it. */
    async function withoutPathFilter(node: (typeof NODES)[number], body: () => Promise<void>) {
        writeHaproxyConfig(node.role, (cfg) =>
            cfg
                .split("\n")
                .filter((l) => !l.includes("only GET /metrics is served here"))
                .join("\n"),
        );
        await restartContainer(node, "haproxy");
        try {
            await body();
        } finally {
            writeHaproxyConfig(node.role);
            await restartContainer(node, "haproxy");
        }
    }

    async function startUpstream(name: string) {
        const entry = catalogueEntry(name as never);
        upstreams.set(
            name,
            entry.authenticator === "upstream"
                ? await fakeAuthenticatingComponent(entry.port, upstreamTls, behaviour[name])
                : await fakeOpenComponent(entry.port),
        );
    }

    const run = (token = READER_TOKEN, timeoutSeconds = 20) =>
        verify(
            { ...plan, timeoutSeconds },
            NODES,
            [],
            { reader: token, unbound: STRANGER_TOKEN },
            Date.now() + timeoutSeconds * 1000,
        );

    before(async () => {
        for (const dir of [TLS_DIR, HAPROXY_CONFIG_DIR, SERVICE_ACCOUNT_DIR]) {
            mountScratch(dir);
        }
        const proxyCert = await issueProxyCertificate({ serverName: settings.tlsServerName, validityDays: 2 });
        fs.writeFileSync(path.join(TLS_DIR, "tls.crt"), proxyCert.certificate);
        fs.writeFileSync(path.join(TLS_DIR, "tls.key"), proxyCert.privateKey);
        fs.writeFileSync(path.join(TLS_DIR, HAPROXY_PEM_FILE), proxyCert.certificate + proxyCert.privateKey);

        const local = await issueProxyCertificate({ serverName: "localhost", validityDays: 2 });
        upstreamTls = { cert: local.certificate, key: local.privateKey };
        apiServer = await fakeApiServer(API_PORT, upstreamTls);
        fs.writeFileSync(path.join(SERVICE_ACCOUNT_DIR, "token"), GATE_SA_TOKEN);
        fs.writeFileSync(path.join(SERVICE_ACCOUNT_DIR, "ca.crt"), local.caCertificate);
        fs.writeFileSync(path.join(SERVICE_ACCOUNT_DIR, "namespace"), "eksa-metrics");

        for (const entry of settings.components) {
            await startUpstream(entry.name);
        }
        for (const node of NODES) {
            writeHaproxyConfig(node.role);
        }
        for (const node of NODES) {
            for (const container of template(node.role).containers) {
                await startContainer(node, container.name);
            }
        }
        plan = {
            serviceAccount: { name: "prometheus-server", namespace: "observability" },
            unboundServiceAccount: { name: "stranger", namespace: "default" },
            mode: "local",
            image: "curlimages/curl",
            tlsServerName: settings.tlsServerName,
            caCertificate: proxyCert.caCertificate,
            components: settings.components.map(({ name, port, placement, authenticator }) => ({
                name,
                port,
                placement,
                authenticator,
            })),
            controllers: [],
            controllerTls: {},
            nodeSelector: {},
            tolerations: [],
            timeoutSeconds: 20,
            concurrency: 8,
            revision: "test",
        };
    });

    after(async () => {
        await Promise.all([...processes.values()].map(stop));
        await closeAll([...upstreams.values(), apiServer].filter(Boolean));
    });

    it("runs the pods' real processes: haproxy plus two gates on the control plane, haproxy plus one gate on the worker", () => {
        assert.deepEqual(
            [...processes.keys()],
            [
                "cp-1/haproxy",
                `cp-1/${gateContainerName(catalogueEntry("kube-proxy"))}`,
                `cp-1/${gateContainerName(catalogueEntry("etcd"))}`,
                "worker-1/haproxy",
                `worker-1/${gateContainerName(catalogueEntry("kube-proxy"))}`,
            ],
        );
        assert.notEqual(gateHost("control-plane"), gateHost("worker"));
    });

    it("passes the verification: 200 with the token, refused without or with an unbound one, 403 off /metrics, on every node", async () => {
        const { ok, text } = await run();
        assert.ok(ok, text);
        assert.match(text, /verified: 20 checks passed/);
        assert.match(text, /^worker-1 +127\.0\.0\.3 +kube-proxy +authorised +ok +200 \+ metrics$/m);
        assert.match(text, /^cp-1 +127\.0\.0\.2 +etcd +anonymous +ok +401$/m);
        assert.match(text, /^cp-1 +127\.0\.0\.2 +kube-scheduler +off-path +ok +403$/m);
        assert.match(text, /^worker-1 +127\.0\.0\.3 +kube-proxy +off-path +ok +403$/m);
        assert.match(text, /^cp-1 +127\.0\.0\.2 +etcd +unbound +ok +403$/m);
        assert.doesNotMatch(text, /worker-1 .*(etcd|kube-scheduler|kube-controller-manager)/);
    });

    it("refuses a token that is not bound to the reader role, everywhere", async () => {
        const { ok, text } = await run(STRANGER_TOKEN, 4);
        assert.equal(ok, false);
        for (const component of ["kube-controller-manager", "kube-scheduler", "kube-proxy", "etcd"]) {
            assert.match(
                text,
                new RegExp(
                    `^FAIL ${component} on node cp-1 \\(127\\.0\\.0\\.2\\): authorised .*: expected 200, got 403`,
                    "m",
                ),
            );
        }
    });

    it("fails naming kube-controller-manager when it is down, and passes once it is back", async () => {
        await closeAll([upstreams.get("kube-controller-manager")!]);
        try {
            const { ok, text } = await run(READER_TOKEN, 4);
            assert.equal(ok, false);
            assert.match(
                text,
                /^FAIL kube-controller-manager on node cp-1 \(127\.0\.0\.2\): authorised https:\/\/eksa-metrics-metrics-proxy:10257\/metrics with the reader's token: expected 200, got 503/m,
            );
            assert.doesNotMatch(text, /^FAIL (kube-scheduler|kube-proxy|etcd)/m);
        } finally {
            await startUpstream("kube-controller-manager");
        }
        const { ok, text } = await run();
        assert.ok(ok, text);
    });

    it("fails naming the component whose upstream answers 403 to the reader", async () => {
        behaviour["kube-scheduler"].denyReader = true;
        try {
            const { ok, text } = await run(READER_TOKEN, 4);
            assert.equal(ok, false);
            assert.match(
                text,
                /^FAIL kube-scheduler on node cp-1 \(127\.0\.0\.2\): authorised .*: expected 200, got 403/m,
            );
            assert.doesNotMatch(text, /^FAIL (kube-controller-manager|kube-proxy|etcd)/m);
        } finally {
            behaviour["kube-scheduler"].denyReader = false;
        }
    });

    it("fails when haproxy lets a non-metrics path through", async () => {
        const cp = NODES[0];
        await withoutPathFilter(cp, async () => {
            const { ok, text } = await run(READER_TOKEN, 4);
            assert.equal(ok, false);
            assert.match(
                text,
                /^FAIL kube-controller-manager on node cp-1 \(127\.0\.0\.2\): off-path https:\/\/eksa-metrics-metrics-proxy:10257\/debug\/pprof\/ with the reader's token: got 403, but not from the proxy/m,
            );
            assert.match(text, /^FAIL kube-scheduler on node cp-1 .*off-path/m);
        });
    });

    it("refuses requests without a bearer JWT itself, and a source that keeps failing authentication, while other sources are served", async () => {
        const kcm = catalogueEntry("kube-controller-manager");
        const etcd = catalogueEntry("etcd");
        const limit = DEFAULT_AUTH_FAILURE_LIMIT.failures;
        /** GET /metrics on a port of the control-plane node, from `source`. */
        const get = (port: number, source: string, token?: string) =>
            new Promise<{ status: number; refusal?: string }>((resolve, reject) => {
                const req = https.request(
                    {
                        host: NODES[0].internalIP,
                        port,
                        path: "/metrics",
                        servername: settings.tlsServerName,
                        ca: plan.caCertificate,
                        localAddress: source,
                        agent: false,
                        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
                    },
                    (res) => {
                        res.resume();
                        res.on("end", () =>
                            resolve({
                                status: res.statusCode!,
                                refusal: res.headers[REFUSAL_HEADER.toLowerCase()] as string | undefined,
                            }),
                        );
                    },
                );
                req.on("error", reject);
                req.end();
            });
        const garbage = (i: number) => `eyJhbGciOiJSUzI1NiJ9.eyJqdGkiOiIke2l9In0.Z2FyYmFnZS0${i}`;
        behaviour[kcm.name].rejectedTokens = 0;
        // Answered as the port answered them before haproxy checked (kube-controller-manager: 403
        // system:anonymous; kube-rbac-proxy: 401; both 401 for no JWT), by haproxy alone.
        assert.deepEqual(await get(kcm.port, "127.0.0.8"), { status: 403, refusal: "refused" });
        assert.deepEqual(await get(kcm.port, "127.0.0.8", "not-a-token"), { status: 401, refusal: "refused" });
        assert.deepEqual(await get(etcd.port, "127.0.0.8"), { status: 401, refusal: "refused" });
        assert.equal(behaviour[kcm.name].rejectedTokens, 0);
        // Distinct well-formed garbage tokens from one address: each costs a review until the limit.
        const statuses: number[] = [];
        for (let i = 0; i < 3 * limit; i++) {
            statuses.push((await get(kcm.port, "127.0.0.9", garbage(i))).status);
        }
        const rejected = behaviour[kcm.name].rejectedTokens!;
        assert.ok(rejected <= limit && rejected >= limit - 2, `the component rejected ${rejected} tokens`);
        assert.deepEqual(new Set(statuses.slice(limit)), new Set([429]));
        assert.deepEqual(await get(kcm.port, "127.0.0.9", READER_TOKEN), { status: 429, refusal: "refused" });
        // Behind haproxy, kube-rbac-proxy's 401s (one TokenReview each) count in the same table.
        const etcdAnswers: { status: number; refusal?: string }[] = [];
        for (let i = 0; i < 3 * limit; i++) {
            etcdAnswers.push(await get(etcd.port, "127.0.0.11", garbage(1000 + i)));
        }
        const reviewed = etcdAnswers.filter((a) => a.status === 401 && a.refusal === undefined).length;
        assert.ok(reviewed <= limit && reviewed >= limit - 2, `kube-rbac-proxy rejected ${reviewed} tokens`);
        assert.deepEqual(new Set(etcdAnswers.slice(limit).map((a) => a.status)), new Set([429]));
        // And an address that failed on one port is refused on every port of the node.
        assert.deepEqual(await get(kcm.port, "127.0.0.11", READER_TOKEN), { status: 429, refusal: "refused" });
        // Every other address is served as before.
        assert.deepEqual(await get(kcm.port, "127.0.0.10", READER_TOKEN), { status: 200, refusal: undefined });
        assert.deepEqual(await get(etcd.port, "127.0.0.10", READER_TOKEN), { status: 200, refusal: undefined });
        const { ok, text } = await run();
        assert.ok(ok, text);
    });

    it("fails when haproxy lets a non-metrics path through to kube-rbac-proxy, which still refuses it", async () => {
        const worker = NODES[1];
        await withoutPathFilter(worker, async () => {
            const { ok, text } = await run(READER_TOKEN, 4);
            assert.equal(ok, false);
            assert.match(
                text,
                /^FAIL kube-proxy on node worker-1 \(127\.0\.0\.3\): off-path .*: expected 403, got 404/m,
            );
        });
        const { ok, text } = await run();
        assert.ok(ok, text);
    });
});
