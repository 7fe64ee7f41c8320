import * as assert from "assert";
import { metricsExposureUnknownDuringPreview } from "../../../policy/policies/metricsExposureUnknownDuringPreview";
import { INSECURE_PROXY, noInsecureMetricsProxy } from "../../../policy/policies/noInsecureMetricsProxy";
import {
    asConfigFileChild,
    fixtureDocuments,
    RegisteredResource,
    runPolicy,
    runStackPolicy,
    StackViolation,
    UNKNOWN_DURING_PREVIEW as SENTINEL,
    withValue,
} from "../harness";
import { ownControlPlaneProxy } from "../support/ownStack";

const program = (file: string) => fixtureDocuments(file).map(asConfigFileChild);
const REMEDY = "Deploy the eksa-metrics stack instead";
/** The stack's own proxy is rendered by MetricsStack under Pulumi's mocks, in a process of its own. */
const RENDER_TIMEOUT = 120_000;

/** Violations as [resource, headline], after checking every message says what to do instead. */
function summary(violations: StackViolation[]): [string | undefined, string][] {
    violations.forEach((v) => assert.ok(v.message.includes(REMEDY), v.message));
    return violations.map((v) => [v.resource, v.message.slice(0, v.message.indexOf(":"))]);
}

describe(`policy ${INSECURE_PROXY} (stack policy)`, () => {
    it("names the four metrics ports of a kubeadm control plane", () => {
        for (const port of [10257, 10259, 10249, 2381]) {
            assert.ok(noInsecureMetricsProxy.description.includes(String(port)), noInsecureMetricsProxy.description);
        }
    });

    it("catches the EKS Anywhere docs' ConfigMap and DaemonSet as the page gives them, naming both", async () => {
        const violations = await runStackPolicy(noInsecureMetricsProxy, program("docs-metrics-proxy.yaml"));
        assert.deepStrictEqual(summary(violations), [
            ["metrics-proxy", "unauthenticated metrics forwarded off the node"],
            ["metrics-proxy", "unauthenticated metrics forwarded off the node"],
            ["metrics-proxy", "metrics proxy in plain HTTP on the host network"],
            ["metrics-proxy", "metrics proxy in plain HTTP on the host network"],
            ["metrics-proxy", "metrics proxy in plain HTTP on the host network"],
            ["metrics-proxy", "metrics proxy in plain HTTP on the host network"],
        ]);
        const [kubeProxy, etcd, ...plain] = violations.map((v) => v.message);
        assert.ok(
            kubeProxy.startsWith(
                'unauthenticated metrics forwarded off the node: kubernetes:core/v1:ConfigMap metrics-proxy: data["haproxy.cfg"] haproxy frontend kube-proxy ' +
                    'listens on "${NODE_IP}:10249" and forwards to 127.0.0.1:10249 (kube-proxy) without checking any credentials',
            ),
            kubeProxy,
        );
        assert.ok(etcd.includes("frontend etcd") && etcd.includes("127.0.0.1:2381 (etcd)"), etcd);
        assert.deepStrictEqual(
            plain.map((m) => /publishes (\d+)/.exec(m)![1]),
            ["2381", "10249", "10257", "10259"],
        );
        assert.ok(
            plain[2].startsWith(
                "metrics proxy in plain HTTP on the host network: kubernetes:apps/v1:DaemonSet metrics-proxy spec.template.spec.containers[0] publishes 10257 " +
                    '(kube-controller-manager) on the node (hostNetwork: true) without TLS — kubernetes:core/v1:ConfigMap metrics-proxy data["haproxy.cfg"] frontend kube-controller-manager ("${NODE_IP}:10257", no TLS)',
            ),
            plain[2],
        );
        assert.ok(plain[2].includes("bearer token"), plain[2]);
    });

    it("passes the eksa-metrics stack's own proxy (TLS everywhere, haproxy in front of kube-rbac-proxy in front of kube-proxy and etcd)", async function () {
        this.timeout(RENDER_TIMEOUT);
        const ownProxy = (await ownControlPlaneProxy()).map(asConfigFileChild);
        assert.deepStrictEqual(await runStackPolicy(noInsecureMetricsProxy, ownProxy), []);
    });

    it("would catch the stack's own proxy without TLS (the check can fail)", async function () {
        this.timeout(RENDER_TIMEOUT);
        const [configMap, daemonSet] = (await ownControlPlaneProxy()).map(asConfigFileChild);
        const data = configMap.props.data as Record<string, string>;
        const plain: RegisteredResource = {
            ...configMap,
            props: {
                ...configMap.props,
                data: { "haproxy.cfg": data["haproxy.cfg"].replace(/ ssl crt \S+ alpn \S+/g, "") },
            },
        };
        const violations = await runStackPolicy(noInsecureMetricsProxy, [plain, daemonSet]);
        assert.deepStrictEqual(
            violations.map((v) => /publishes (\d+)/.exec(v.message)?.[1]),
            ["2381", "10249", "10257", "10259"],
        );
    });

    it("reads nginx and envoy too; an authenticating or loopback listener, a TLS kube-rbac-proxy and node-exporter pass", async () => {
        const violations = await runStackPolicy(noInsecureMetricsProxy, program("metrics-proxies.yaml"));
        assert.deepStrictEqual(
            violations.map(
                (v) =>
                    `${v.resource}: ${v.message.slice(0, v.message.indexOf(":"))} ${/(?:listens on|publishes) ("[^"]+"|\d+)/.exec(v.message)![1]}`,
            ),
            [
                'monitoring/nginx-metrics: metrics proxy on all interfaces "0.0.0.0:10249"',
                'monitoring/nginx-metrics: unauthenticated metrics forwarded off the node "0.0.0.0:10249"',
                'monitoring/nginx-metrics: metrics proxy on all interfaces "[::]:10257"',
                'monitoring/envoy-metrics: metrics proxy on all interfaces "[::]:2381"',
                'monitoring/envoy-metrics: unauthenticated metrics forwarded off the node "[::]:2381"',
                'monitoring/haproxy-everywhere: metrics proxy on all interfaces "*:10259"',
                "monitoring/kube-proxy-gate: metrics proxy in plain HTTP on the host network 2381",
                "monitoring/nginx-metrics: metrics proxy in plain HTTP on the host network 2381",
                "monitoring/nginx-metrics: metrics proxy in plain HTTP on the host network 10249",
            ],
        );
    });

    it("judges a configuration only pod-network pods mount as not on a node; mounted by a host-network pod it is", async () => {
        const gateway = program("metrics-proxies.yaml").filter((r) =>
            ["monitoring/gateway-config", "monitoring/gateway"].includes(r.name),
        );
        assert.deepStrictEqual(await runStackPolicy(noInsecureMetricsProxy, gateway), []);
        const [configMap, deployment] = gateway;
        const onNode = {
            ...deployment,
            props: withValue(deployment.props, ["spec", "template", "spec", "hostNetwork"], true),
        };
        const violations = await runStackPolicy(noInsecureMetricsProxy, [configMap, onNode]);
        assert.deepStrictEqual(
            summary(violations).map(([resource]) => resource),
            ["monitoring/gateway-config", "monitoring/gateway-config", "monitoring/gateway"],
        );
    });

    it("leaves an unrelated host-network app on other ports alone", async () => {
        assert.deepStrictEqual(
            await runStackPolicy(
                noInsecureMetricsProxy,
                program("metrics-proxies.yaml").filter((r) => r.name === "monitoring/node-exporter"),
            ),
            [],
        );
    });

    it("names an unknown haproxy.cfg and unknown host-network ports during preview (advisory)", async () => {
        const [configMap, daemonSet] = program("docs-metrics-proxy.yaml");
        const unknowns = async (resource: RegisteredResource) =>
            (await runPolicy(metricsExposureUnknownDuringPreview, resource)).violations;
        const [config] = await unknowns({
            ...configMap,
            props: withValue(configMap.props, ["data", "haproxy.cfg"], SENTINEL),
        });
        assert.ok(
            config.startsWith(
                `[${INSECURE_PROXY}] kubernetes:core/v1:ConfigMap metrics-proxy: data["haproxy.cfg"] is unknown during preview`,
            ),
            config,
        );
        const [ports] = await unknowns({
            ...daemonSet,
            props: withValue(daemonSet.props, ["spec", "template", "spec", "containers", 0, "ports"], SENTINEL),
        });
        assert.ok(ports.includes("spec.template.spec.containers[0].ports is unknown during preview"), ports);
        assert.deepStrictEqual(await unknowns(daemonSet), [], "nothing unknown: nothing named");
    });
});
