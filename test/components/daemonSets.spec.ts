import { strict as assert } from "assert";
import * as command from "@pulumi/command";
import { only, registerUnder, valueOf } from "../support/mockEngine";
import { resolveSettings } from "../../config/settings";
import { kubeRbacProxyHostFor, registerDocsProxyRemoval, registerProxyDaemonSets } from "../../components/daemonSets";

const DAEMON_SET = "kubernetes:apps/v1:DaemonSet";
const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";
const STACK_LABEL = { "eksa-metrics/stack": "eksa-metrics.test" };

function input(dependsOn: command.local.Command[] = []) {
    return {
        namespace: "ns",
        stackLabel: STACK_LABEL,
        serviceAccountName: "metrics-proxy-abc123",
        tlsSecretName: "metrics-tls-abc123",
        tlsRevision: "period-1",
        proxyImage: "registry.example/haproxy:1",
        gateImage: "registry.example/kube-rbac-proxy:1",
        proxyResources: { requests: { cpu: "1m" } },
        gateResources: { requests: { cpu: "2m" } },
        dependsOn,
    };
}

describe("registerProxyDaemonSets", function () {
    this.timeout(20_000);

    it("one DaemonSet per node role with components, each with haproxy's immutable ConfigMap", async () => {
        const settings = resolveSettings({ rolloutTimeoutMinutes: 7 });
        const { result, children } = await registerUnder((opts) =>
            registerProxyDaemonSets("metrics", settings, input(), opts),
        );
        assert.deepEqual(children.map((c) => `${c.type} ${c.name}`).sort(), [
            `${DAEMON_SET} metrics-control-plane`,
            `${DAEMON_SET} metrics-worker`,
            `${CONFIG_MAP} metrics-control-plane-haproxy`,
            `${CONFIG_MAP} metrics-worker-haproxy`,
        ]);
        assert.equal(result.daemonSets.length, 2);
        assert.deepEqual(await valueOf(result.haproxyConfigMapNames[0]), "metrics-control-plane-haproxy-abc123");
        const configMap = only(children, CONFIG_MAP, "metrics-control-plane-haproxy").props;
        assert.equal(configMap.immutable, true);
        assert.equal(configMap.metadata.namespace, "ns");
        assert.match(configMap.data["haproxy.cfg"], /control-plane nodes of stack resource metrics/);

        const cp = only(children, DAEMON_SET, "metrics-control-plane");
        const selector = {
            "app.kubernetes.io/name": "eksa-metrics-proxy",
            "app.kubernetes.io/instance": "metrics",
            "eksa-metrics/node-role": "control-plane",
        };
        assert.deepEqual(
            cp.props.spec.selector,
            { matchLabels: selector },
            "the stack label stays out of the selector",
        );
        assert.deepEqual(cp.props.metadata.labels, { ...selector, ...STACK_LABEL });
        assert.deepEqual(cp.props.spec.template.metadata.labels, { ...selector, ...STACK_LABEL });
        // The new pod serves before the old one goes.
        assert.deepEqual(cp.props.spec.updateStrategy, {
            type: "RollingUpdate",
            rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
        });
        assert.deepEqual(cp.opts.customTimeouts, { create: "7m", update: "7m" });
        const pod = cp.props.spec.template.spec;
        assert.equal(pod.serviceAccountName, "metrics-proxy-abc123");
        const images = Object.fromEntries(pod.containers.map((c: any) => [c.name, [c.image, c.resources]]));
        assert.deepEqual(images.haproxy, ["registry.example/haproxy:1", { requests: { cpu: "1m" } }]);
        const worker = only(children, DAEMON_SET, "metrics-worker").props.spec.template.spec;
        assert.deepEqual(
            worker.containers.map((c: any) => [c.image, c.resources]),
            [
                ["registry.example/haproxy:1", { requests: { cpu: "1m" } }],
                ["registry.example/kube-rbac-proxy:1", { requests: { cpu: "2m" } }],
            ],
        );
        // Each role's kube-rbac-proxy on an address of its own, the one its haproxy forwards to.
        const workerConfig = only(children, CONFIG_MAP, "metrics-worker-haproxy").props.data["haproxy.cfg"];
        const gateHost = (spec: any) =>
            spec.containers[1].args[0].replace(/^--secure-listen-address=(.*):\d+$/, "$1") as string;
        const cpHost = gateHost(pod);
        const workerHost = gateHost(worker);
        assert.notEqual(cpHost, workerHost);
        assert.match(workerConfig, new RegExp(`server kube-proxy ${workerHost.replaceAll(".", "\\.")}:10249 ssl`));
        assert.ok(worker.containers[1].args.includes(`--secure-listen-address=${workerHost}:10249`));
        assert.match(
            configMap.data["haproxy.cfg"],
            new RegExp(`server etcd ${cpHost.replaceAll(".", "\\.")}:2381 ssl`),
        );
        assert.ok(pod.containers.some((c: any) => c.args?.includes(`--secure-listen-address=${cpHost}:2381`)));
    });

    it("gives kube-rbac-proxy another loopback address whenever the pod template changes, so old and new pod run side by side", async () => {
        const hostOf = async (settings: ReturnType<typeof resolveSettings>, overrides: Record<string, unknown>) => {
            const { children } = await registerUnder((opts) =>
                registerProxyDaemonSets("metrics", settings, { ...input(), ...overrides }, opts),
            );
            const pod = only(children, DAEMON_SET, "metrics-control-plane").props.spec.template.spec;
            const host = pod.containers[1].args[0].replace(/^--secure-listen-address=(.*):\d+$/, "$1");
            const config = only(children, CONFIG_MAP, "metrics-control-plane-haproxy").props.data["haproxy.cfg"];
            assert.ok(config.includes(`server kube-proxy ${host}:10249 ssl`), "haproxy forwards to the same address");
            return host as string;
        };
        const settings = resolveSettings({});
        const base = await hostOf(settings, {});
        assert.match(base, /^127\.100\.\d+\.\d+$/);
        assert.equal(await hostOf(settings, {}), base, "the same template: the same address");
        assert.equal(
            await hostOf(resolveSettings({ verify: { timeoutSeconds: 300 } }), {}),
            base,
            "a setting outside the template rolls nothing",
        );
        assert.equal(
            kubeRbacProxyHostFor("metrics", "control-plane", { x: 1 }),
            kubeRbacProxyHostFor("metrics", "control-plane", { x: 1 }),
        );
        const changed = [
            await hostOf(settings, { tlsRevision: "period-2" }),
            await hostOf(settings, { gateImage: "registry.example/kube-rbac-proxy:2" }),
            await hostOf(settings, { proxyResources: { requests: { cpu: "3m" } } }),
            await hostOf(resolveSettings({ serverTimeoutSeconds: 31 }), {}),
        ];
        for (const host of changed) {
            assert.notEqual(host, base);
        }
    });

    it("waits for the docs page's proxy to be removed, and deploys no worker DaemonSet with nothing to serve there", async () => {
        const settings = resolveSettings({ components: { "kube-proxy": false } });
        const { children } = await registerUnder((opts) => {
            const removal = new command.local.Command("removal", { create: "true" }, opts);
            return registerProxyDaemonSets("m", settings, input([removal]), opts);
        });
        const daemonSets = children.filter((c) => c.type === DAEMON_SET);
        assert.deepEqual(
            daemonSets.map((c) => c.name),
            ["m-control-plane"],
        );
        assert.deepEqual(
            (daemonSets[0].opts.dependsOn as command.local.Command[]).map((r) => r === children[0].resource),
            [true],
        );
    });
});

describe("registerDocsProxyRemoval", function () {
    this.timeout(20_000);

    it("registers nothing unless replaceDocsMetricsProxy is set", async () => {
        const { result, children } = await registerUnder((opts) =>
            registerDocsProxyRemoval("m", resolveSettings({}), "kubeconfig", opts),
        );
        assert.equal(result, undefined);
        assert.deepEqual(children, []);
    });

    it("runs cluster/replaceDocsProxy.ts with the kubeconfig in a secret environment variable", async () => {
        const { children } = await registerUnder((opts) =>
            registerDocsProxyRemoval("m", resolveSettings({ replaceDocsMetricsProxy: true }), "KUBECONFIG-TEXT", opts),
        );
        const removal = only(children, "command:local:Command", "m-replace-docs-metrics-proxy");
        assert.match(
            removal.props.create,
            /^node --require ts-node\/register\/transpile-only \S*cluster\/replaceDocsProxy\.ts$/,
        );
        assert.deepEqual(removal.props.environment, { EKSA_METRICS_KUBECONFIG: "KUBECONFIG-TEXT" });
        assert.deepEqual(removal.secretKeys, ["environment.EKSA_METRICS_KUBECONFIG"]);
    });
});
