import { strict as assert } from "assert";
import {
    ACCESS_REVIEW_LINE,
    accessReviews,
    parseAccessReviews,
    parseDeployments,
    parseFacts,
    parseRegistryMirrors,
    servesEksaClusters,
} from "../../cluster/clusterFacts";
import { isDocsProxy, Permission } from "../../cluster/preflight";

/** Shaped like `kubectl get nodes,namespaces,serviceaccounts,daemonsets.apps,pods -A -o json` on a cluster with the docs page's install. */
const LIST = {
    kind: "List",
    items: [
        {
            kind: "Node",
            metadata: { name: "cp-1", labels: { "node-role.kubernetes.io/control-plane": "" } },
            spec: { taints: [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }] },
            status: { addresses: [{ type: "InternalIP", address: "10.0.0.2" }] },
        },
        {
            kind: "Namespace",
            metadata: { name: "eksa-metrics", labels: { "pod-security.kubernetes.io/enforce": "restricted" } },
        },
        { kind: "ServiceAccount", metadata: { name: "prometheus-server", namespace: "observability" } },
        {
            kind: "DaemonSet",
            metadata: { name: "metrics-proxy", namespace: "default" },
            spec: {
                template: {
                    metadata: { labels: { app: "metrics-proxy" } },
                    spec: {
                        hostNetwork: true,
                        containers: [{ name: "haproxy" }],
                        volumes: [{ name: "haproxy-config", configMap: { name: "metrics-proxy" } }],
                    },
                },
            },
        },
        {
            // The API server defaults hostPort to containerPort for host-network pods; ours counts either way.
            kind: "Pod",
            metadata: {
                name: "metrics-proxy-abcde",
                namespace: "default",
                labels: { app: "metrics-proxy" },
                ownerReferences: [{ kind: "DaemonSet", name: "metrics-proxy", controller: true }],
            },
            spec: {
                hostNetwork: true,
                affinity: {
                    nodeAffinity: {
                        requiredDuringSchedulingIgnoredDuringExecution: {
                            nodeSelectorTerms: [
                                { matchFields: [{ key: "metadata.name", operator: "In", values: ["cp-1"] }] },
                            ],
                        },
                    },
                },
                containers: [
                    {
                        name: "haproxy",
                        ports: [
                            { containerPort: 10249 },
                            { containerPort: 10257, hostPort: 10257, protocol: "TCP" },
                            { containerPort: 53, protocol: "UDP" },
                        ],
                    },
                ],
            },
            status: { phase: "Pending" },
        },
        {
            kind: "Pod",
            metadata: { name: "web", namespace: "apps", labels: {} },
            spec: {
                nodeName: "cp-1",
                containers: [{ name: "web", ports: [{ containerPort: 8080 }, { containerPort: 80, hostPort: 10259 }] }],
            },
            status: { phase: "Running" },
        },
    ],
};

describe("cluster facts", () => {
    const answers = [{ verb: "create", resource: "pods", namespace: "observability", allowed: true }];
    const facts = parseFacts(
        JSON.stringify(LIST),
        JSON.stringify({ major: "1", minor: "34", gitVersion: "v1.34.4" }),
        answers,
    );

    it("reads nodes, namespaces and service accounts", () => {
        assert.deepEqual(
            facts.nodes.map((n) => [n.name, n.internalIP]),
            [["cp-1", "10.0.0.2"]],
        );
        assert.deepEqual(facts.namespaces, [
            { name: "eksa-metrics", labels: { "pod-security.kubernetes.io/enforce": "restricted" } },
        ]);
        assert.deepEqual(facts.serviceAccounts, [{ namespace: "observability", name: "prometheus-server" }]);
        assert.equal(facts.version.gitVersion, "v1.34.4");
        assert.deepEqual(facts.verificationPermissions, answers);
    });

    it("takes a host-network pod's container ports as host ports (TCP only), and a pod network's hostPorts only", () => {
        const [docs, web] = facts.pods;
        assert.deepEqual(docs.hostPorts, [10249, 10257]);
        assert.deepEqual(web.hostPorts, [10259]);
    });

    it("takes the ports an eksa-metrics proxy pod names in its annotation (it declares none)", () => {
        const ours = {
            kind: "Pod",
            metadata: {
                name: "eksa-metrics-control-plane-x1",
                namespace: "eksa-metrics",
                labels: { "app.kubernetes.io/name": "eksa-metrics-proxy" },
                annotations: { "eksa-metrics/host-ports": "2381,10249,10257,10259,10263" },
            },
            spec: { nodeName: "cp-1", hostNetwork: true, containers: [{ name: "haproxy" }] },
            status: { phase: "Running" },
        };
        const pods = parseFacts(
            JSON.stringify({ kind: "List", items: [ours] }),
            JSON.stringify({ major: "1", minor: "34", gitVersion: "v1.34.4" }),
            answers,
        ).pods;
        assert.deepEqual(pods[0].hostPorts, [2381, 10249, 10257, 10259, 10263]);
    });

    it("places a Pending DaemonSet pod on the node it is pinned to, and names its owner", () => {
        assert.deepEqual(
            [facts.pods[0].node, facts.pods[0].owner, facts.pods[0].phase],
            ["cp-1", { kind: "DaemonSet", name: "metrics-proxy" }, "Pending"],
        );
        assert.equal(facts.pods[1].node, "cp-1");
    });

    it("recognises the docs page's DaemonSet and the ConfigMap it mounts", () => {
        assert.deepEqual(facts.daemonSets, [
            {
                namespace: "default",
                name: "metrics-proxy",
                podLabels: { app: "metrics-proxy" },
                hostNetwork: true,
                configMaps: ["metrics-proxy"],
            },
        ]);
        assert.equal(isDocsProxy(facts.daemonSets[0]), true);
        assert.equal(isDocsProxy({ ...facts.daemonSets[0], podLabels: { app: "other" } }), false);
    });

    describe("the verification's permissions, asked in one request", () => {
        const asked: Permission[] = [
            { verb: "create", resource: "pods", namespace: "observability" },
            { verb: "get", resource: "pods", subresource: "log", namespace: "observability" },
            { verb: "create", resource: "serviceaccounts", subresource: "token", namespace: "eksa-metrics" },
        ];

        it("asks them as SelfSubjectAccessReviews in one List, in the core group", () => {
            const list = accessReviews(asked) as {
                kind: string;
                items: { kind: string; spec: { resourceAttributes: object } }[];
            };
            assert.equal(list.kind, "List");
            assert.deepEqual(
                list.items.map((i) => i.kind),
                ["SelfSubjectAccessReview", "SelfSubjectAccessReview", "SelfSubjectAccessReview"],
            );
            assert.deepEqual(
                list.items.map((i) => i.spec.resourceAttributes),
                [
                    { namespace: "observability", verb: "create", group: "", resource: "pods" },
                    { namespace: "observability", verb: "get", group: "", resource: "pods", subresource: "log" },
                    {
                        namespace: "eksa-metrics",
                        verb: "create",
                        group: "",
                        resource: "serviceaccounts",
                        subresource: "token",
                    },
                ],
            );
            assert.match(ACCESS_REVIEW_LINE, /\{\.status\.allowed\}\{"\\n"\}$/);
        });

        it("reads each answer by what its line asked, whatever the order", () => {
            // As kubectl prints the template once per review (an absent subresource is empty).
            const output =
                "eksa-metrics|create|serviceaccounts|token|false\nobservability|create|pods||true\nobservability|get|pods|log|false\n";
            assert.deepEqual(parseAccessReviews(output, asked), {
                answers: [
                    { ...asked[0], allowed: true },
                    { ...asked[1], allowed: false },
                    { ...asked[2], allowed: false },
                ],
            });
        });

        it("says which got no answer, rather than taking silence for a yes or a no", () => {
            assert.deepEqual(
                parseAccessReviews("observability|create|pods||true\nobservability|get|pods|log|maybe\n", asked),
                { unanswered: [asked[1], asked[2]] },
            );
            assert.deepEqual(parseAccessReviews("", asked), { unanswered: asked });
        });
    });

    it("reads the Deployments' namespace, name, pod labels and pod spec (where controllers run)", () => {
        const podSpec = {
            containers: [
                {
                    name: "manager",
                    image: "registry.k8s.io/cluster-api/cluster-api-controller:v1.8.5",
                    args: ["--diagnostics-address=:8443"],
                },
            ],
        };
        const list = {
            kind: "List",
            items: [
                {
                    kind: "Deployment",
                    metadata: { name: "capi-controller-manager", namespace: "capi-system" },
                    spec: {
                        template: {
                            metadata: { labels: { "cluster.x-k8s.io/provider": "cluster-api" } },
                            spec: podSpec,
                        },
                    },
                },
            ],
        };
        assert.deepEqual(parseDeployments(JSON.stringify(list)), [
            {
                namespace: "capi-system",
                name: "capi-controller-manager",
                podLabels: { "cluster.x-k8s.io/provider": "cluster-api" },
                podSpec,
            },
        ]);
    });
});

describe("the EKS Anywhere registry mirror in the cluster's facts", () => {
    /** Shaped like `kubectl get clusters.v1alpha1.anywhere.eks.amazonaws.com -A -o json` on a management cluster. */
    const clusters = {
        kind: "List",
        items: [
            {
                kind: "Cluster",
                metadata: { name: "mgmt", namespace: "default" },
                spec: {
                    managementCluster: { name: "mgmt" },
                    registryMirrorConfiguration: { endpoint: "10.0.0.5", port: "5000", authenticate: true },
                },
            },
            {
                // A workload cluster's object: its mirror is not this cluster's.
                kind: "Cluster",
                metadata: { name: "workload-1", namespace: "default" },
                spec: {
                    managementCluster: { name: "mgmt" },
                    registryMirrorConfiguration: { endpoint: "other.example" },
                },
            },
            { kind: "Cluster", metadata: { name: "no-mirror", namespace: "default" }, spec: {} },
        ],
    };

    it("are those of the cluster's own (self-managed) Cluster objects", () => {
        assert.deepEqual(parseRegistryMirrors(JSON.stringify(clusters)), [
            { declaredBy: "Cluster default/mgmt", registry: "10.0.0.5:5000", mirrored: { "public.ecr.aws": "" } },
        ]);
    });

    it("are read only when the API server serves EKS Anywhere's clusters", () => {
        const discovery = (names: string[]) =>
            JSON.stringify({
                kind: "APIResourceList",
                groupVersion: "anywhere.eks.amazonaws.com/v1alpha1",
                resources: names.map((name) => ({ name, namespaced: true, kind: "X", verbs: ["list"] })),
            });
        assert.equal(servesEksaClusters(discovery(["clusters", "clusters/status", "vspheredatacenterconfigs"])), true);
        assert.equal(servesEksaClusters(discovery(["vspheredatacenterconfigs"])), false);
    });
});
