/**
 * The real Cluster API core manager (bin/cluster-api-controller, built by dev/toolchain/setup.sh)
 * deployed on a local control plane as clusterctl lays it out (dev/localcluster/capi.ts): its
 * diagnostics endpoint serves /metrics over HTTPS behind the apiserver's authentication and
 * authorization (TokenReview, SubjectAccessReview), as the stack's controller checks expect; once
 * as a pod of the pod network (reached from the pod-network namespace), once with hostNetwork.
 */
import { strict as assert } from "assert";
import {
    CAPI_DEPLOYMENT,
    CAPI_NAMESPACE,
    CapiManager,
    clusterApiVersion,
    deployCapiManager,
    removeCapiManager,
} from "../../dev/localcluster/capi";
import { eventually } from "../../dev/localcluster/prometheus";
import { LocalCluster, run } from "../../dev/localcluster/driver";

const NS = "capi-metrics-test";
const READER = `
apiVersion: v1
kind: Namespace
metadata: {name: ${NS}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: reader, namespace: ${NS}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: unbound, namespace: ${NS}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: capi-metrics-test-reader}
rules: [{nonResourceURLs: ["/metrics"], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: capi-metrics-test-reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: capi-metrics-test-reader}
subjects: [{kind: ServiceAccount, name: reader, namespace: ${NS}}]
`;

function inCidr(ip: string, cidr: string): boolean {
    const toInt = (a: string) => a.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
    const [base, bits] = cidr.split("/");
    const size = 2 ** (32 - Number(bits));
    return Math.floor(toInt(ip) / size) === Math.floor(toInt(base) / size);
}

// The manager's pod on the pod network (the default), then on the node's (hostNetwork).
for (const hostNetwork of [false, true])
    describe(`the Cluster API core manager ${clusterApiVersion()} on a local control plane (${hostNetwork ? "hostNetwork" : "pod network"})`, function () {
        this.timeout(300_000);
        const cluster = new LocalCluster();
        let manager: CapiManager;
        const tokens: Record<string, string> = {};

        /**
         * curl of the manager's metrics URL from where its address is reachable (the pod-network
         * namespace, or the node's with hostNetwork): [status, body].
         */
        async function scrape(token?: string): Promise<[string, string]> {
            const argv = [
                "curl",
                "-sk",
                "--max-time",
                "10",
                "-w",
                "\n%{http_code}",
                ...(token ? ["-H", `Authorization: Bearer ${token}`] : []),
                manager.metricsURL,
            ];
            const result = await run(hostNetwork ? cluster.onNode(argv) : cluster.podNetwork(argv));
            const i = result.stdout.lastIndexOf("\n");
            return [result.stdout.slice(i + 1), result.stdout.slice(0, i)];
        }

        before(async () => {
            await cluster.up();
            manager = await deployCapiManager(cluster, { hostNetwork });
            await cluster.mustKubectl(["apply", "-f", "-"], READER);
            for (const sa of ["reader", "unbound"]) {
                tokens[sa] = (await cluster.mustKubectl(["-n", NS, "create", "token", sa, "--duration=1h"])).trim();
            }
        });

        after(async () => {
            await cluster.down();
        });

        it("runs as the Deployment clusterctl makes: labels, image, command, ports, probes", async () => {
            const d = JSON.parse(
                await cluster.mustKubectl(["-n", CAPI_NAMESPACE, "get", "deployment", CAPI_DEPLOYMENT, "-o", "json"]),
            );
            const labels = { "cluster.x-k8s.io/provider": "cluster-api", "control-plane": "controller-manager" };
            assert.deepEqual(d.spec.selector.matchLabels, labels);
            assert.deepEqual(d.spec.template.metadata.labels, labels);
            const pod = d.spec.template.spec;
            const c = pod.containers[0];
            assert.equal(c.image, `registry.k8s.io/cluster-api/cluster-api-controller:${clusterApiVersion()}`);
            assert.deepEqual(c.command, ["/manager"]);
            for (const arg of ["--leader-elect=false", "--diagnostics-address=:8443", "--insecure-diagnostics=false"]) {
                assert.ok(c.args.includes(arg), arg);
            }
            assert.deepEqual(
                c.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]),
                [
                    ["webhook-server", 9443],
                    ["healthz", 9440],
                    ["metrics", 8443],
                ],
            );
            assert.equal(c.readinessProbe.httpGet.port, "healthz");
            assert.equal(c.livenessProbe.httpGet.port, "healthz");
            assert.equal(pod.serviceAccountName, "capi-manager");
            assert.equal(!!pod.hostNetwork, hostNetwork);
            assert.equal(manager.hostNetwork, hostNetwork);
            if (hostNetwork) {
                assert.equal(manager.podIP, manager.hostIP);
            } else {
                assert.notEqual(manager.podIP, manager.hostIP);
                const cidr = (
                    await cluster.mustKubectl(["get", "node", manager.nodeName, "-o", "jsonpath={.spec.podCIDR}"])
                ).trim();
                assert.ok(
                    inCidr(manager.podIP, cidr),
                    `pod IP ${manager.podIP} is not in ${manager.nodeName}'s podCIDR ${cidr}`,
                );
            }
            assert.equal(d.status.availableReplicas, 1);
        });

        // Ready comes before every controller has started its workers: on a loaded machine, seconds before.
        it("starts its controllers with the module's CRDs and RBAC (no error in its log)", async () => {
            const log = await eventually(60, async () => {
                const text = await cluster.mustKubectl(["-n", CAPI_NAMESPACE, "logs", manager.podName]);
                for (const controller of [
                    "cluster",
                    "machine",
                    "machineset",
                    "machinedeployment",
                    "machinehealthcheck",
                    "clusterresourceset",
                    "crdmigrator",
                ]) {
                    assert.match(text, new RegExp(`"Starting workers" controller="${controller}"`), controller);
                }
                return text;
            });
            assert.match(log, new RegExp(`"Starting manager" logger="setup" version="${clusterApiVersion()}"`));
            assert.doesNotMatch(log, /forbidden|^E\d{4}/m);
        });

        it("answers /metrics with 200 and Prometheus metrics for a token allowed GET /metrics", async () => {
            const body = await eventually(60, async () => {
                const [code, text] = await scrape(tokens.reader);
                assert.equal(code, "200", text);
                assert.match(
                    text,
                    /^controller_runtime_reconcile_total\{controller="cluster",result="success"\} \d+$/m,
                );
                return text;
            });
            assert.match(body, /^# TYPE controller_runtime_reconcile_total counter$/m);
        });

        it("answers 401 without a token", async () => {
            const [code, body] = await scrape();
            assert.equal(code, "401", body);
        });

        it("answers 403 to a service account without a binding", async () => {
            const [code, body] = await scrape(tokens.unbound);
            assert.equal(code, "403", body);
        });

        it("removeCapiManager removes the namespace, its RBAC and the CRDs", async () => {
            await removeCapiManager(cluster);
            assert.equal((await cluster.kubectl(["get", "namespace", CAPI_NAMESPACE])).code, 1);
            assert.equal((await cluster.kubectl(["get", "clusterrole", "capi-manager-role"])).code, 1);
            assert.equal((await cluster.kubectl(["get", "crd", "clusters.cluster.x-k8s.io"])).code, 1);
        });
    });
