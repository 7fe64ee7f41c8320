import { strict as assert } from "assert";
import {
    canICommand,
    ClusterFacts,
    describePlacement,
    docsProxyRemovalCommands,
    hostPortsOf,
    mirrorWarnings,
    PermissionAnswer,
    PodFact,
    preflight,
    StackIdentity,
    unreadable,
    verificationPermissions,
} from "../../cluster/preflight";
import { resolveSettings, StackOptions } from "../../config/settings";
import { settingsProblems } from "../config/settingsProblems";
import { ClusterNode } from "../../core/kubernetes";
import { registryMirrorOf } from "../../core/images";

const CP_LABEL = "node-role.kubernetes.io/control-plane";
const cp: ClusterNode = {
    name: "cp-1",
    internalIP: "10.0.0.2",
    labels: { [CP_LABEL]: "" },
    taints: [{ key: CP_LABEL, effect: "NoSchedule" }],
};
const worker: ClusterNode = { name: "worker-1", internalIP: "10.0.0.3", labels: {}, taints: [] };
const ME: StackIdentity = { stackLabel: "eksa-metrics.mgmt", dryRun: true, keyPrefix: "eksa-metrics:" };

/** The answers for `options`' verification: allowed, except the refused ones ("namespace verb resource[/subresource]"). */
function answers(options: StackOptions, ...refused: string[]): PermissionAnswer[] {
    return verificationPermissions(resolveSettings(options)).map((p) => ({
        ...p,
        allowed: !refused.includes(`${p.namespace} ${p.verb} ${p.resource}${p.subresource ? `/${p.subresource}` : ""}`),
    }));
}

/** A healthy cluster for the default settings: every check is silent on it. */
function cluster(overrides: Partial<ClusterFacts> = {}): ClusterFacts {
    return {
        version: { major: "1", minor: "34", gitVersion: "v1.34.4" },
        nodes: [cp, worker],
        namespaces: ["default", "kube-system", "observability"].map((name) => ({ name, labels: {} })),
        serviceAccounts: [{ namespace: "observability", name: "prometheus-server" }],
        daemonSets: [],
        pods: [],
        verificationPermissions: answers({}),
        deployments: [],
        ...overrides,
    };
}

const run = (options: StackOptions, facts: ClusterFacts, identity = ME) =>
    preflight(resolveSettings(options, "eksa-metrics:"), facts, identity);

/** The docs page's DaemonSet (shared/seeds/004) as the API server returns it: hostNetwork, hostPort defaulted. */
const DOCS_DS = {
    namespace: "default",
    name: "metrics-proxy",
    podLabels: { app: "metrics-proxy" },
    hostNetwork: true,
    configMaps: ["metrics-proxy"],
};
const docsPod = (node: string): PodFact => ({
    namespace: "default",
    name: `metrics-proxy-${node}`,
    labels: { app: "metrics-proxy" },
    node,
    phase: "Running",
    owner: { kind: "DaemonSet", name: "metrics-proxy" },
    hostPorts: [10249, 10257, 10259, 2381],
});
const ourPod = (node: string, labels: Record<string, string>, namespace = "eksa-metrics"): PodFact => ({
    namespace,
    name: `eksa-metrics-control-plane-${node}`,
    labels: { "app.kubernetes.io/name": "eksa-metrics-proxy", ...labels },
    node,
    phase: "Running",
    owner: { kind: "DaemonSet", name: "eksa-metrics-control-plane" },
    hostPorts: [10257, 10259, 10263, 10249, 2381],
});

describe("preflight", () => {
    it("is silent on a healthy cluster and places the proxy on both nodes", () => {
        const result = run({}, cluster());
        assert.deepEqual(result.errors, []);
        assert.deepEqual(result.warnings, []);
        assert.deepEqual(describePlacement(result), [
            "node cp-1 (control-plane): proxy for kube-controller-manager, kube-scheduler, kube-proxy, etcd",
            "node worker-1 (worker): proxy for kube-proxy",
        ]);
    });

    describe("Kubernetes version", () => {
        const version = (minor: string) =>
            cluster({ version: { major: "1", minor, gitVersion: `v1.${minor.replace("+", "")}.0` } });
        it("refuses a cluster too old for Pod Security admission", () => {
            assert.match(
                run({}, version("24")).errors.join("\n"),
                /^eksa-metrics:kubeconfig: the cluster runs Kubernetes v1\.24\.0; the proxy needs 1\.25 or later .* \(supported: 1\.28 to 1\.34\)$/,
            );
        });
        it("warns outside the tested range, and is silent inside it (also with a '+' minor)", () => {
            assert.match(
                run({}, version("27")).warnings.join("\n"),
                /Kubernetes v1\.27\.0, outside the tested 1\.28 to 1\.34/,
            );
            assert.match(run({}, version("35")).warnings.join("\n"), /outside the tested/);
            assert.deepEqual(run({}, version("28+")).warnings, []);
            assert.deepEqual(run({}, version("28+")).errors, []);
        });
    });

    describe("readers and the verification's service account", () => {
        const noPrometheus = cluster({ namespaces: [{ name: "default", labels: {} }], serviceAccounts: [] });
        it("stops on a reader that does not exist, naming it, its namespace and both fixes", () => {
            const { errors } = run({}, noPrometheus);
            assert.deepEqual(errors, [
                "eksa-metrics:readers[0]: ServiceAccount observability/prometheus-server does not exist (nor does namespace observability), and the verification needs its token. Create it first (e.g. install Prometheus), or set eksa-metrics:readersMayNotExistYet true to bind it now and verify with a service account this stack creates",
            ]);
        });
        it("with readersMayNotExistYet, warns instead and verifies with the stack's own service account", () => {
            const result = run({ readersMayNotExistYet: true }, noPrometheus);
            assert.deepEqual(result.errors, []);
            assert.match(
                result.warnings.join("\n"),
                /^eksa-metrics:readers\[0\]: ServiceAccount observability\/prometheus-server does not exist \(nor does namespace observability\) yet; it is bound now .*; the verification uses eksa-metrics\/eksa-metrics-verifier, which this stack creates$/,
            );
            const settings = resolveSettings({ readersMayNotExistYet: true });
            assert.deepEqual(settings.verify.serviceAccount, {
                name: "eksa-metrics-verifier",
                namespace: "eksa-metrics",
            });
            assert.deepEqual(settings.verifierServiceAccount, settings.verify.serviceAccount);
        });
        it("checks an explicit verification service account that is not a reader", () => {
            const options = { verify: { serviceAccount: { name: "checker", namespace: "observability" } } };
            assert.match(
                run(options, cluster()).errors.join("\n"),
                /^eksa-metrics:verify\.serviceAccount: ServiceAccount observability\/checker does not exist, and the verification needs its token/,
            );
            assert.deepEqual(
                run(
                    options,
                    cluster({
                        serviceAccounts: [
                            ...cluster().serviceAccounts,
                            { namespace: "observability", name: "checker" },
                        ],
                    }),
                ).errors,
                [],
            );
        });
        it("asks, in cluster mode, for what the verification does with pods in the reader's and the stack's namespace", () => {
            const asked = verificationPermissions(resolveSettings({})).map(canICommand);
            assert.deepEqual(
                asked,
                ["observability", "eksa-metrics"].flatMap((ns) => [
                    `kubectl auth can-i create pods --namespace ${ns}`,
                    `kubectl auth can-i get pods --namespace ${ns}`,
                    `kubectl auth can-i list pods --namespace ${ns}`,
                    `kubectl auth can-i delete pods --namespace ${ns}`,
                    `kubectl auth can-i get pods --subresource=log --namespace ${ns}`,
                ]),
            );
            // One namespace for both accounts is asked once.
            assert.equal(verificationPermissions(resolveSettings({ readersMayNotExistYet: true })).length, 5);
            assert.deepEqual(verificationPermissions(resolveSettings({ verify: { enabled: false } })), []);
        });
        it("asks, in local mode, for the reader's and the unbound account's tokens, and nothing about pods", () => {
            assert.deepEqual(verificationPermissions(resolveSettings({ verify: { mode: "local" } })).map(canICommand), [
                "kubectl auth can-i create serviceaccounts --subresource=token --namespace observability",
                "kubectl auth can-i create serviceaccounts --subresource=token --namespace eksa-metrics",
            ]);
        });
        it("stops, in cluster mode, when the kubeconfig's user may not run the verification's pods, naming each refusal, the grant and the ways out", () => {
            const facts = cluster({
                verificationPermissions: answers(
                    {},
                    "observability create pods",
                    "observability get pods/log",
                    "eksa-metrics delete pods",
                ),
            });
            assert.deepEqual(run({}, facts).errors, [
                'eksa-metrics:kubeconfig: its user may not run the verification\'s pods as ServiceAccount observability/prometheus-server in namespace observability (kubectl auth can-i create pods --namespace observability: no; kubectl auth can-i get pods --subresource=log --namespace observability: no), which the verification does with eksa-metrics:verify.mode "cluster". Grant it create on pods and get on pods/log in observability, set eksa-metrics:verify.mode "local" to verify from this machine with tokens, or set eksa-metrics:verify.enabled false',
                'eksa-metrics:kubeconfig: its user may not run the verification\'s pods as ServiceAccount eksa-metrics/eksa-metrics-unbound in namespace eksa-metrics (kubectl auth can-i delete pods --namespace eksa-metrics: no), which the verification does with eksa-metrics:verify.mode "cluster". Grant it delete on pods in eksa-metrics, set eksa-metrics:verify.mode "local" to verify from this machine with tokens, or set eksa-metrics:verify.enabled false',
            ]);
            assert.deepEqual(run({ verify: { enabled: false } }, facts).errors, []);
        });
        it("names both accounts when the reader lives in the stack's namespace, and lists a refused resource's verbs together", () => {
            const options = { readersMayNotExistYet: true };
            const facts = cluster({
                verificationPermissions: answers(
                    options,
                    "eksa-metrics create pods",
                    "eksa-metrics list pods",
                    "eksa-metrics delete pods",
                ),
            });
            assert.match(
                run(options, facts).errors.join("\n"),
                /^eksa-metrics:kubeconfig: its user may not run the verification's pods as ServiceAccounts eksa-metrics\/eksa-metrics-verifier and eksa-metrics\/eksa-metrics-unbound in namespace eksa-metrics \(.*\), which the verification does with eksa-metrics:verify\.mode "cluster"\. Grant it create, list and delete on pods in eksa-metrics,/,
            );
        });
        it("stops, in local mode, when the kubeconfig's user may not request tokens, unless verification is off", () => {
            const options = { verify: { mode: "local" as const } };
            const facts = cluster({
                verificationPermissions: answers(options, "observability create serviceaccounts/token"),
            });
            assert.deepEqual(run(options, facts).errors, [
                'eksa-metrics:kubeconfig: its user may not create tokens for ServiceAccount observability/prometheus-server (kubectl auth can-i create serviceaccounts --subresource=token --namespace observability: no), which the verification does with eksa-metrics:verify.mode "local". Grant it create on serviceaccounts/token in observability, set eksa-metrics:verify.mode "cluster" to verify from pods in the cluster, or set eksa-metrics:verify.enabled false',
            ]);
            assert.match(
                run(
                    options,
                    cluster({ verificationPermissions: answers(options, "eksa-metrics create serviceaccounts/token") }),
                ).errors.join("\n"),
                /^eksa-metrics:kubeconfig: its user may not create tokens for ServiceAccount eksa-metrics\/eksa-metrics-unbound \(kubectl auth can-i create serviceaccounts --subresource=token --namespace eksa-metrics: no\)/,
            );
            assert.deepEqual(run({ verify: { enabled: false, mode: "local" } }, facts).errors, []);
        });
        it("does not look up User and Group readers (the API has no such objects)", () => {
            assert.deepEqual(
                run(
                    { readers: [{ kind: "Group", name: "sre" }], verify: { enabled: false } },
                    cluster({ serviceAccounts: [] }),
                ).errors,
                [],
            );
        });
    });

    describe("nodes", () => {
        it("stops when control-plane components are on and no node carries the control-plane label we select on", () => {
            const legacy: ClusterNode = { ...cp, labels: { "node-role.kubernetes.io/master": "" } };
            const result = run({}, cluster({ nodes: [legacy, worker] }));
            assert.match(
                result.errors[0],
                /^eksa-metrics:components: kube-controller-manager, kube-scheduler, etcd run on control-plane nodes, but no node is labelled node-role\.kubernetes\.io\/control-plane="" \(nodes: cp-1, worker-1\)/,
            );
            assert.match(
                describePlacement(result)[0],
                /^node cp-1: no proxy \(a control-plane node without the label node-role\.kubernetes\.io\/control-plane="" /,
            );
            assert.deepEqual(
                run(
                    { components: { "kube-controller-manager": false, "kube-scheduler": false, etcd: false } },
                    cluster({ nodes: [worker] }),
                ).errors,
                [],
            );
        });
        it("warns about a node skipped for a taint it does not tolerate, and is silent once tolerated", () => {
            const gpu: ClusterNode = {
                ...worker,
                name: "gpu-1",
                taints: [{ key: "nvidia.com/gpu", effect: "NoSchedule" }],
            };
            const result = run({}, cluster({ nodes: [cp, worker, gpu] }));
            assert.deepEqual(result.errors, []);
            assert.deepEqual(result.warnings, [
                "node gpu-1: skipped, taint nvidia.com/gpu:NoSchedule is not tolerated: its metrics will not be served. Add a toleration to eksa-metrics:tolerations if the proxy should run there",
            ]);
            assert.match(
                describePlacement(result)[2],
                /^node gpu-1: no proxy \(taint nvidia\.com\/gpu:NoSchedule is not tolerated\)$/,
            );
            assert.deepEqual(
                run(
                    { tolerations: [{ key: "nvidia.com/gpu", operator: "Exists" }] },
                    cluster({ nodes: [cp, worker, gpu] }),
                ).warnings,
                [],
            );
        });
        it("stops when every control-plane node is skipped, with each node's reason", () => {
            const tainted: ClusterNode = {
                ...cp,
                taints: [...cp.taints, { key: "maintenance", value: "true", effect: "NoExecute" }],
            };
            const { errors } = run({}, cluster({ nodes: [tainted, worker] }));
            assert.ok(
                errors.includes(
                    "eksa-metrics:components.kube-controller-manager: no node will run its proxy (cp-1: taint maintenance=true:NoExecute is not tolerated). Add the missing toleration to eksa-metrics:tolerations, fix eksa-metrics:nodeSelector, or turn it off",
                ),
                errors.join("\n"),
            );
            assert.equal(
                errors.filter((e) => /no node will run/.test(e)).length,
                3,
                "kube-proxy still runs on the worker",
            );
        });
        it("places the proxy on a node without an InternalIP (only the verification leaves it out)", () => {
            assert.deepEqual(
                run({}, cluster({ nodes: [cp, { ...worker, internalIP: undefined }] })).placement[1].components,
                ["kube-proxy"],
            );
        });
        it("lists nodes the node selector leaves out, without a warning", () => {
            const result = run(
                { nodeSelector: { pool: "a" } },
                cluster({ nodes: [{ ...cp, labels: { ...cp.labels, pool: "a" } }, worker] }),
            );
            assert.deepEqual(result.warnings, []);
            assert.equal(describePlacement(result)[1], "node worker-1: no proxy (node selector pool=a does not match)");
        });
    });

    describe("host ports", () => {
        it("names the docs page's DaemonSet, its ports and nodes, the preemption, and both ways out", () => {
            const facts = cluster({ daemonSets: [DOCS_DS], pods: [docsPod("cp-1"), docsPod("worker-1")] });
            const { errors } = run({}, facts);
            assert.equal(errors.length, 1);
            assert.match(
                errors[0],
                /^DaemonSet default\/metrics-proxy \(the EKS Anywhere docs page's manual install: .*\) holds host ports 2381 \(etcd metrics\), 10249 \(kube-proxy metrics\), 10257 \(kube-controller-manager metrics\), 10259 \(kube-scheduler metrics\) on node cp-1; 10249 \(kube-proxy metrics\) on node worker-1, which the proxy needs; our system-node-critical pods would preempt its pods/,
            );
            assert.match(
                errors[0],
                /set eksa-metrics:replaceDocsMetricsProxy true and `pulumi up` deletes it before the rollout, or delete it yourself: kubectl delete daemonset metrics-proxy --namespace default --cascade=foreground --wait --ignore-not-found && kubectl delete configmap metrics-proxy --namespace default --ignore-not-found$/,
            );
        });
        it("with replaceDocsMetricsProxy, plans its removal instead, and warns when there is nothing to replace", () => {
            const result = run(
                { replaceDocsMetricsProxy: true },
                cluster({ daemonSets: [DOCS_DS], pods: [docsPod("cp-1")] }),
            );
            assert.deepEqual(result.errors, []);
            assert.match(
                describePlacement(result).at(-1)!,
                /^replaceDocsMetricsProxy: `pulumi up` deletes DaemonSet default\/metrics-proxy and ConfigMap default\/metrics-proxy before the proxy rolls out$/,
            );
            assert.match(
                run({ replaceDocsMetricsProxy: true }, cluster()).warnings.join("\n"),
                /^eksa-metrics:replaceDocsMetricsProxy: the cluster has no metrics-proxy DaemonSet/,
            );
        });
        it("counts a Pending DaemonSet pod pinned to a node (already preempted) as a holder", () => {
            const pending = { ...docsPod("cp-1"), phase: "Pending" };
            assert.equal(run({}, cluster({ daemonSets: [DOCS_DS], pods: [pending] })).errors.length, 1);
            assert.deepEqual(
                run({}, cluster({ daemonSets: [DOCS_DS], pods: [{ ...pending, phase: "Succeeded" }] })).errors,
                [],
            );
        });
        it("ignores this stack's own pods (also from before the stack label) but not another stack's", () => {
            assert.deepEqual(
                run({}, cluster({ pods: [ourPod("cp-1", { "eksa-metrics/stack": "eksa-metrics.mgmt" })] })).errors,
                [],
            );
            assert.deepEqual(run({}, cluster({ pods: [ourPod("cp-1", {})] })).errors, []);
            const other = run(
                {},
                cluster({ pods: [ourPod("cp-1", { "eksa-metrics/stack": "eksa-metrics.other" }, "metrics-b")] }),
            ).errors;
            assert.match(
                other.join("\n"),
                /^DaemonSet metrics-b\/eksa-metrics-control-plane of another eksa-metrics stack \(eksa-metrics\/stack=eksa-metrics\.other\) holds host ports 2381 .* on node cp-1, which the proxy needs: one cluster takes one stack/,
            );
        });
        it("names any other pod declaring a port we need, including the health port", () => {
            const pod: PodFact = {
                namespace: "monitoring",
                name: "node-exporter-x",
                labels: {},
                node: "cp-1",
                phase: "Running",
                hostPorts: [10263, 9100],
            };
            assert.match(
                run({}, cluster({ pods: [pod] })).errors.join("\n"),
                /^Pod monitoring\/node-exporter-x holds host ports 10263 \(haproxy health\) on node cp-1, which the proxy needs\. Stop it or move it off these ports, choose another eksa-metrics:healthPort/,
            );
            assert.deepEqual(run({ healthPort: 10264 }, cluster({ pods: [pod] })).errors, []);
            assert.match(
                run({}, cluster({ pods: [{ ...pod, node: "worker-1" }] })).errors.join("\n"),
                /^Pod monitoring\/node-exporter-x holds host ports 10263 \(haproxy health\) on node worker-1, which the proxy needs/,
                "haproxy fronts kube-proxy on workers too, with its health port",
            );
        });
        it("derives the ports from the enabled components", () => {
            assert.deepEqual([...hostPortsOf("worker", resolveSettings({})).keys()], [10249, 10263]);
            assert.deepEqual(
                [
                    ...hostPortsOf(
                        "control-plane",
                        resolveSettings({ components: { "kube-controller-manager": false, "kube-scheduler": false } }),
                    ).keys(),
                ],
                [10249, 2381, 10263],
            );
            assert.deepEqual(
                [...hostPortsOf("worker", resolveSettings({ components: { "kube-proxy": false } })).keys()],
                [],
            );
        });
    });

    describe("namespace", () => {
        it("stops when it is missing and createNamespace is false", () => {
            assert.match(
                run({ createNamespace: false }, cluster()).errors.join("\n"),
                /^eksa-metrics:namespace: namespace eksa-metrics does not exist and eksa-metrics:createNamespace is false\. Create it \(kubectl create namespace eksa-metrics && kubectl label namespace eksa-metrics pod-security\.kubernetes\.io\/enforce=privileged\), or set eksa-metrics:createNamespace true$/,
            );
        });
        const existing = (labels: Record<string, string>) =>
            cluster({ namespaces: [...cluster().namespaces, { name: "eksa-metrics", labels }] });
        it("stops on Pod Security baseline or restricted, with the label command; warns on no label; silent on privileged", () => {
            for (const level of ["restricted", "baseline"]) {
                assert.match(
                    run(
                        { createNamespace: false },
                        existing({ "pod-security.kubernetes.io/enforce": level }),
                    ).errors.join("\n"),
                    new RegExp(
                        `^eksa-metrics:namespace: namespace eksa-metrics enforces Pod Security "${level}", which refuses the proxy's host-network pods .* kubectl label namespace eksa-metrics pod-security\\.kubernetes\\.io/enforce=privileged --overwrite$`,
                    ),
                );
            }
            const unlabelled = run({ createNamespace: false }, existing({}));
            assert.deepEqual(unlabelled.errors, []);
            assert.match(
                unlabelled.warnings.join("\n"),
                /^eksa-metrics:namespace: namespace eksa-metrics has no pod-security\.kubernetes\.io\/enforce label/,
            );
            const privileged = run(
                { createNamespace: false },
                existing({ "pod-security.kubernetes.io/enforce": "privileged" }),
            );
            assert.deepEqual([privileged.errors, privileged.warnings], [[], []]);
        });
        it("stops createNamespace from taking over a namespace this stack did not make", () => {
            assert.match(
                run({}, existing({})).errors.join("\n"),
                /^eksa-metrics:namespace: namespace eksa-metrics already exists, made by someone else, and eksa-metrics:createNamespace true would take it over/,
            );
            assert.match(
                run({}, existing({ "eksa-metrics/stack": "eksa-metrics.other" })).errors.join("\n"),
                /belongs to another eksa-metrics stack \(eksa-metrics\/stack=eksa-metrics\.other\)/,
            );
            assert.deepEqual(
                run({}, existing({ "eksa-metrics/stack": "eksa-metrics.mgmt" })).errors,
                [],
                "our own, on the second up",
            );
            assert.deepEqual(
                run({}, cluster({ ...existing({}), pods: [ourPod("cp-1", {})] })).errors,
                [],
                "ours, from before the stack label",
            );
        });
    });

    describe("external etcd", () => {
        const external = (endpoint: string) => ({ etcd: { topology: "external" as const, endpoints: [endpoint] } });
        it("stops on an endpoint that is a node of this cluster", () => {
            assert.match(
                run(external("https://10.0.0.2:2379"), cluster()).errors.join("\n"),
                /^eksa-metrics:etcd\.endpoints\[0\]: https:\/\/10\.0\.0\.2:2379 is node cp-1 of this cluster, so that etcd is stacked, not external/,
            );
            assert.deepEqual(run(external("https://10.0.0.21:2379"), cluster()).errors, []);
        });
        it("stops when etcd runs as a static pod on the nodes", () => {
            const etcdPod: PodFact = {
                namespace: "kube-system",
                name: "etcd-cp-1",
                labels: { component: "etcd" },
                node: "cp-1",
                phase: "Running",
                owner: { kind: "Node", name: "cp-1" },
                hostPorts: [],
            };
            assert.match(
                run(external("https://10.0.0.21:2379"), cluster({ pods: [etcdPod] })).errors.join("\n"),
                /^eksa-metrics:etcd\.topology: "external", but Pod kube-system\/etcd-cp-1 runs etcd on node cp-1 \(stacked\)/,
            );
        });
    });

    it("stops when the Prometheus Operator's objects are asked for and its CRDs are missing", () => {
        const operator = { prometheusOperator: { enabled: true } };
        assert.deepEqual(
            run(
                operator,
                cluster({ crds: ["scrapeconfigs.monitoring.coreos.com", "prometheusrules.monitoring.coreos.com"] }),
            ).errors,
            [],
        );
        assert.deepEqual(run(operator, cluster({ crds: ["scrapeconfigs.monitoring.coreos.com"] })).errors, [
            "eksa-metrics:prometheusOperator.enabled: the cluster has no CustomResourceDefinition prometheusrules.monitoring.coreos.com. Install the Prometheus Operator (e.g. kube-prometheus-stack) first, or set eksa-metrics:prometheusOperator.enabled to false",
        ]);
        assert.deepEqual(run({}, cluster()).errors, [], "nothing is asked of a cluster without the operator");
    });

    describe("controllers", () => {
        const CAPI_IMAGE = "registry.k8s.io/cluster-api/cluster-api-controller:v1.8.5";
        const capi = (args = ["--diagnostics-address=:8443", "--insecure-diagnostics=false"]) => ({
            namespace: "capi-system",
            name: "capi-controller-manager",
            podLabels: { "cluster.x-k8s.io/provider": "cluster-api" },
            podSpec: { containers: [{ name: "manager", image: CAPI_IMAGE, command: ["/manager"], args }] },
        });
        it("names those it finds, as they will be scraped", () => {
            const result = run({}, cluster({ deployments: [capi()] }));
            assert.deepEqual([result.errors, result.warnings], [[], []]);
            assert.deepEqual(describePlacement(result).slice(2), [
                "controller capi-controller-manager: Deployment capi-system/capi-controller-manager, scraped on its pods' :8443 (pod discovery)",
            ]);
        });
        it("stops on a listed controller that is not in the cluster, naming where it was looked for and the fix", () => {
            const result = run(
                { controllers: { expect: ["capi-controller-manager", "capt-controller-manager"] } },
                cluster({ deployments: [capi()] }),
            );
            assert.deepEqual(result.errors, [
                "eksa-metrics:controllers.expect: capt-controller-manager is not in the cluster (no Deployment in namespace capt-system with pod labels cluster.x-k8s.io/provider=infrastructure-tinkerbell). Install it, or remove it from eksa-metrics:controllers.expect",
            ]);
        });
        it("warns on a found controller whose diagnostics endpoint is insecure or missing", () => {
            const result = run({}, cluster({ deployments: [capi(["--insecure-diagnostics=true"])] }));
            assert.deepEqual(result.errors, []);
            assert.match(
                result.warnings.join("\n"),
                /^controller capi-controller-manager: Deployment capi-system\/capi-controller-manager: container manager runs with --insecure-diagnostics=true: plain HTTP, no token check, so its scrape and verification will fail\. Run it with --diagnostics-address=:8443 --insecure-diagnostics=false, or leave it out of eksa-metrics:controllers\.expect$/,
            );
        });
        it("says the controllers could not be listed when the Deployments cannot be read, and what follows", () => {
            const facts = cluster({ deployments: undefined, deploymentsUnreadable: "deployments.apps is forbidden" });
            assert.match(
                run({}, facts).warnings.join("\n"),
                /^eksa-metrics:controllers: the controllers could not be listed \(deployments\.apps is forbidden\), so none of the catalogue's controllers is scraped\./,
            );
            assert.match(
                run({ controllers: { expect: ["capi-controller-manager"] } }, facts).warnings.join("\n"),
                /so capi-controller-manager could not be checked; the verification after the rollout will tell/,
            );
            assert.deepEqual(run({ controllers: { expect: [] } }, facts).warnings, []);
        });
    });

    it("reports every problem at once", () => {
        const facts = cluster({
            serviceAccounts: [],
            verificationPermissions: answers({ createNamespace: false }, "observability create pods"),
            daemonSets: [DOCS_DS],
            pods: [docsPod("cp-1")],
        });
        assert.equal(run({ createNamespace: false }, facts).errors.length, 4);
    });

    describe("an unreadable cluster", () => {
        const settings = resolveSettings({});
        it("fails the preview, offering offlinePreview", () => {
            const result = unreadable(
                settings,
                "kubectl get --raw failed: dial tcp 127.0.0.1:1: connect: connection refused",
                ME,
            );
            assert.deepEqual(result.errors, [
                "eksa-metrics:kubeconfig: the cluster could not be read: kubectl get --raw failed: dial tcp 127.0.0.1:1: connect: connection refused. Fix the server or credentials (pulumi config set --secret eksa-metrics:kubeconfig < kubeconfig), or set eksa-metrics:offlinePreview true to preview without the cluster",
            ]);
        });
        it("with offlinePreview, warns in preview and says what it did not check", () => {
            const result = unreadable(resolveSettings({ offlinePreview: true }), "timeout", ME);
            assert.deepEqual(result.errors, []);
            assert.match(
                result.warnings[0],
                /^eksa-metrics:offlinePreview: the cluster could not be read \(timeout\); not checked: its Kubernetes version, .* free host ports, the namespace and its Pod Security level, the controllers \(could not be listed: this preview scrapes none of them\)\. `pulumi up` checks them all/,
            );
            assert.match(
                result.warnings[0],
                /the verification's service accounts, the right to create, get, list and delete the verification's pods and read their logs in observability and eksa-metrics, the nodes/,
            );
            assert.match(
                unreadable(resolveSettings({ offlinePreview: true, verify: { mode: "local" } }), "timeout", ME)
                    .warnings[0],
                /the verification's service accounts, the right to request the verification's tokens in observability and eksa-metrics, the nodes/,
            );
            assert.match(
                unreadable(resolveSettings({ offlinePreview: true, verify: { enabled: false } }), "timeout", ME)
                    .warnings[0],
                /the verification's service accounts, the nodes/,
            );
            const listed = unreadable(
                resolveSettings({ offlinePreview: true, controllers: { expect: ["capi-controller-manager"] } }),
                "timeout",
                ME,
            );
            assert.match(
                listed.warnings[0],
                /the controllers \(could not be listed: this preview scrapes those in eksa-metrics:controllers\.expect\)/,
            );
            assert.doesNotMatch(
                unreadable(resolveSettings({ offlinePreview: true, controllers: { expect: [] } }), "timeout", ME)
                    .warnings[0],
                /controllers/,
            );
        });
        it("always fails `up`, which needs the cluster anyway", () => {
            const result = unreadable(resolveSettings({ offlinePreview: true }), "timeout", { ...ME, dryRun: false });
            assert.match(
                result.errors[0],
                /^eksa-metrics:kubeconfig: the cluster could not be read: timeout\. Fix the server or credentials \(pulumi config set --secret eksa-metrics:kubeconfig < kubeconfig\)$/,
            );
        });
    });

    describe("its settings", () => {
        it("are off by default", () => {
            const s = resolveSettings({});
            assert.deepEqual(
                [s.readersMayNotExistYet, s.offlinePreview, s.replaceDocsMetricsProxy, s.verifierServiceAccount],
                [false, false, false, undefined],
            );
        });
        it("must be true or false", () => {
            const problems = settingsProblems(() =>
                resolveSettings(
                    { readersMayNotExistYet: "yes", offlinePreview: 1, replaceDocsMetricsProxy: "no" } as never,
                    "eksa-metrics:",
                ),
            );
            assert.deepEqual(problems, [
                'eksa-metrics:readersMayNotExistYet: "yes" is not true or false. Set true or false, or remove it for the default false',
                "eksa-metrics:offlinePreview: 1 is not true or false. Set true or false, or remove it for the default false",
                'eksa-metrics:replaceDocsMetricsProxy: "no" is not true or false. Set true or false, or remove it for the default false',
            ]);
        });
        it("keep an explicit verification service account, and make none when verification is off", () => {
            const explicit = resolveSettings({
                readersMayNotExistYet: true,
                verify: { serviceAccount: { name: "checker", namespace: "observability" } },
            });
            assert.deepEqual(
                [explicit.verify.serviceAccount, explicit.verifierServiceAccount],
                [{ name: "checker", namespace: "observability" }, undefined],
            );
            assert.equal(
                resolveSettings({ readersMayNotExistYet: true, verify: { enabled: false } }).verifierServiceAccount,
                undefined,
            );
        });
        it("let readers without a ServiceAccount verify with the stack's own", () => {
            assert.deepEqual(
                resolveSettings({ readers: [{ kind: "User", name: "alice" }], readersMayNotExistYet: true }).verify
                    .serviceAccount,
                { name: "eksa-metrics-verifier", namespace: "eksa-metrics" },
            );
        });
    });

    it("spells the removal commands as the user would type them", () => {
        assert.deepEqual(docsProxyRemovalCommands(DOCS_DS), [
            "kubectl delete daemonset metrics-proxy --namespace default --cascade=foreground --wait --ignore-not-found",
            "kubectl delete configmap metrics-proxy --namespace default --ignore-not-found",
        ]);
    });
});

describe("preflight: images against the cluster's registry mirror", () => {
    const mirror = registryMirrorOf("Cluster default/mgmt", { endpoint: "10.0.0.5", port: "5000" })!;
    const key = (k: string) => `eksa-metrics:${k}`;

    it("warns about each image a node would pull from elsewhere, naming the image, the mirror and the key", () => {
        const warnings = mirrorWarnings(
            [
                {
                    key: "proxyImage",
                    image: "public.ecr.aws/eks-anywhere/kubernetes-sigs/kind/haproxy:v0.20.0-eks-a-54",
                },
                { key: "gateImage", image: "quay.io/brancz/kube-rbac-proxy:v0.19.1" },
                { key: "verify.image", image: "curlimages/curl:8.11.1" },
            ],
            [mirror],
            "imageRegistry",
            key,
        );
        // public.ecr.aws goes through the mirror (EKS Anywhere's default mapping): no warning.
        assert.deepEqual(warnings, [
            "eksa-metrics:gateImage: image quay.io/brancz/kube-rbac-proxy:v0.19.1 would be pulled from quay.io, but the cluster's Cluster default/mgmt declares the registry mirror 10.0.0.5:5000 (spec.registryMirrorConfiguration; it serves 10.0.0.5:5000 and mirrors public.ecr.aws): on an air-gapped cluster that pull fails. Set eksa-metrics:imageRegistry 10.0.0.5:5000 to pull every default image from the mirror (copy brancz/kube-rbac-proxy:v0.19.1 into it first), or set eksa-metrics:gateImage to an image it serves",
            "eksa-metrics:verify.image: image curlimages/curl:8.11.1 would be pulled from docker.io, but the cluster's Cluster default/mgmt declares the registry mirror 10.0.0.5:5000 (spec.registryMirrorConfiguration; it serves 10.0.0.5:5000 and mirrors public.ecr.aws): on an air-gapped cluster that pull fails. Set eksa-metrics:imageRegistry 10.0.0.5:5000 to pull every default image from the mirror (copy curlimages/curl:8.11.1 into it first), or set eksa-metrics:verify.image to an image it serves",
        ]);
    });

    it("is silent when every image names the mirror, or when there is no mirror", () => {
        const images = [
            { key: "gateImage", image: "10.0.0.5:5000/brancz/kube-rbac-proxy:v0.19.1" },
            { key: "verify.image", image: "10.0.0.5:5000/curlimages/curl:8.11.1" },
        ];
        assert.deepEqual(mirrorWarnings(images, [mirror], "imageRegistry"), []);
        assert.deepEqual(mirrorWarnings([{ key: "gateImage", image: "quay.io/a/b:1" }], [], "imageRegistry"), []);
    });

    it("warns that the mirror was not checked when the Cluster objects cannot be read", () => {
        const { errors, warnings } = run({}, cluster({ registryMirrorsUnreadable: "forbidden" }));
        assert.deepEqual(errors, []);
        assert.equal(warnings.length, 1);
        assert.match(warnings[0], /EKS Anywhere Cluster objects could not be read \(forbidden\)/);
        assert.match(warnings[0], /list on clusters\.anywhere\.eks\.amazonaws\.com/);
    });
});
