/**
 * The preflight through the real engine, on the local control plane: each check stops the real
 * `pulumi preview` of the project's own program, within seconds and before anything is registered,
 * with the line that names the key or object and the fix; the warnings let it pass. Then the
 * conflicts of host ports: the EKS Anywhere docs page's metrics-proxy applied as the docs give it,
 * its deliberate replacement by `pulumi up`, and a second stack of ours on the same cluster.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { LocalCluster, ProgramStack, Result } from "../../dev/localcluster/driver";
import { plannedCheckCount, verifiedPattern } from "../support/plannedChecks";

const text = (r: Result) => `${r.stdout}\n${r.stderr}`;
const PREFIX = "eksa-metrics:";

/** The ConfigMap and DaemonSet of shared/seeds/004 (the docs page), exactly as its two `kubectl apply` heredocs give them. */
function docsManifests(): string {
    const page = fs.readFileSync(
        path.join(__dirname, "..", "..", "..", "shared", "seeds", "004_1e0cb8c5b50720ab.txt"),
        "utf8",
    );
    const heredocs = [...page.matchAll(/cat << EOF \| kubectl apply -f -\n([\s\S]*?)\n\s*EOF/g)].map((m) => m[1]);
    const docs = heredocs
        .map((h) => {
            const indent = h.match(/^( *)/)![1].length;
            // The shell would expand \${NODE_IP} to ${NODE_IP}, which haproxy then reads from the environment.
            return h
                .split("\n")
                .map((l) => l.slice(indent))
                .join("\n")
                .replace(/\\\$/g, "$");
        })
        .filter((d) => /^kind: (ConfigMap|DaemonSet)$/m.test(d) && /name: metrics-proxy$/m.test(d));
    assert.equal(docs.length, 2, "the docs page's ConfigMap and DaemonSet");
    return docs.join("\n---\n");
}

describe("preflight through the real engine, on the local control plane", function () {
    this.timeout(900_000);
    const cluster = new LocalCluster();
    const stack = new ProgramStack("preflight");
    let kubeconfig = "";

    /** `pulumi preview` (no policy pack: the preflight is the program's) with `config`; its output and duration. */
    async function preview(
        config: Record<string, unknown>,
        target = stack,
    ): Promise<{ code: number; output: string; seconds: number }> {
        target.setConfig(config);
        const started = Date.now();
        const result = await target.pulumi(["preview"]);
        return { code: result.code, output: text(result), seconds: (Date.now() - started) / 1000 };
    }

    function assertStopped(result: { code: number; output: string }, ...lines: RegExp[]): void {
        assert.notEqual(result.code, 0, result.output);
        assert.match(result.output, /error: the cluster is not ready for this stack \(preflight\):/);
        for (const line of lines) {
            assert.match(result.output, line);
        }
        assert.match(result.output, /\+ 1 to create/, "only the stack itself: nothing of ours was registered");
        assert.doesNotMatch(result.output, /at Object\.|at Module\./, "a list of problems, not a stack trace");
    }

    before(async () => {
        await cluster.up();
        kubeconfig = cluster.kubeconfig();
        await cluster.createDefaultReaders();
        await stack.init(kubeconfig);
    });

    after(async () => {
        await stack.destroy().catch(() => undefined);
        await cluster.down();
    });

    it("passes on the healthy cluster and prints where the proxy runs", async () => {
        const ok = await preview({});
        assert.equal(ok.code, 0, ok.output);
        assert.match(
            ok.output,
            /preflight: node eksa-cp-1 \(control-plane\): proxy for kube-controller-manager, kube-scheduler, kube-proxy, etcd/,
        );
        assert.match(ok.output, /preflight: node eksa-worker-1 \(worker\): proxy for kube-proxy/);
    });

    it("a wrong server in the kubeconfig stops the preview within seconds; offlinePreview lets it pass, saying what it did not check", async () => {
        const wrong = kubeconfig.replace(/server: https:\/\/[^\s]+/, "server: https://127.0.0.1:1");
        await stack.mustPulumi(["config", "set", "--secret", `${PREFIX}kubeconfig`], wrong);
        try {
            const stopped = await preview({});
            assertStopped(
                stopped,
                /- eksa-metrics:kubeconfig: the cluster could not be read: kubectl get --raw failed: .*127\.0\.0\.1:1.* or set eksa-metrics:offlinePreview true to preview without the cluster/,
            );
            assert.ok(stopped.seconds < 60, `took ${stopped.seconds} s`);
            const offline = await preview({ offlinePreview: true });
            assert.equal(offline.code, 0, offline.output);
            assert.match(
                offline.output,
                /warning: preflight: eksa-metrics:offlinePreview: the cluster could not be read .*not checked: its Kubernetes version, /,
            );
        } finally {
            await stack.mustPulumi(["config", "set", "--secret", `${PREFIX}kubeconfig`], kubeconfig);
        }
    });

    it("a reader that does not exist stops it; readersMayNotExistYet lets it pass with the stack's own verifier", async () => {
        const readers = [{ kind: "ServiceAccount", name: "prometheus-k8s", namespace: "monitoring" }];
        assertStopped(
            await preview({ readers }),
            /- eksa-metrics:readers\[0\]: ServiceAccount monitoring\/prometheus-k8s does not exist \(nor does namespace monitoring\), and the verification needs its token\. Create it first .* set eksa-metrics:readersMayNotExistYet true/,
        );
        const later = await preview({ readers, readersMayNotExistYet: true });
        assert.equal(later.code, 0, later.output);
        assert.match(
            later.output,
            /warning: preflight: eksa-metrics:readers\[0\]: ServiceAccount monitoring\/prometheus-k8s does not exist \(nor does namespace monitoring\) yet; it is bound now .*; the verification uses eksa-metrics\/eksa-metrics-verifier, which this stack creates/,
        );
        assert.match(later.output, /\+ +kubernetes:core\/v1:ServiceAccount +eksa-metrics-verifier +create/);
    });

    it("a missing verification service account stops it", async () => {
        assertStopped(
            await preview({ verify: { serviceAccount: { name: "checker", namespace: "observability" } } }),
            /- eksa-metrics:verify\.serviceAccount: ServiceAccount observability\/checker does not exist, and the verification needs its token/,
        );
    });

    it("a kubeconfig whose user may read the cluster but not request the verification's token stops it", async () => {
        // Cluster mode (the default) needs it to run the verification's pods, local mode to request their tokens.
        // A read-only user: a service account allowed to list what the preflight reads, and nothing else.
        await cluster.mustKubectl(["create", "serviceaccount", "reader-only", "-n", "default"]);
        await cluster.mustKubectl([
            "create",
            "clusterrole",
            "preflight-read",
            "--verb=get,list",
            "--resource=nodes,namespaces,serviceaccounts,daemonsets.apps,pods",
        ]);
        await cluster.mustKubectl([
            "create",
            "clusterrolebinding",
            "preflight-read",
            "--clusterrole=preflight-read",
            "--serviceaccount=default:reader-only",
        ]);
        const token = (await cluster.mustKubectl(["create", "token", "reader-only", "-n", "default"])).trim();
        const doc = yaml.load(kubeconfig) as any;
        doc.users = [{ name: doc.contexts[0].context.user, user: { token } }];
        await stack.mustPulumi(["config", "set", "--secret", `${PREFIX}kubeconfig`], yaml.dump(doc));
        try {
            // It may get and list pods (the preflight reads them), not create or delete them, nor read their logs.
            assertStopped(
                await preview({}),
                /- eksa-metrics:kubeconfig: its user may not run the verification's pods as ServiceAccount observability\/prometheus-server in namespace observability \(kubectl auth can-i create pods --namespace observability: no; kubectl auth can-i delete pods --namespace observability: no; kubectl auth can-i get pods --subresource=log --namespace observability: no\), which the verification does with eksa-metrics:verify\.mode "cluster"\. Grant it create and delete on pods and get on pods\/log in observability, set eksa-metrics:verify\.mode "local" to verify from this machine with tokens, or set eksa-metrics:verify\.enabled false/,
                // The stack's namespace does not exist yet (createNamespace): the API server answers for it all the same.
                /- eksa-metrics:kubeconfig: its user may not run the verification's pods as ServiceAccount eksa-metrics\/eksa-metrics-unbound in namespace eksa-metrics \(kubectl auth can-i create pods --namespace eksa-metrics: no;/,
            );
            const local = await preview({ verify: { mode: "local" } });
            assertStopped(
                local,
                /- eksa-metrics:kubeconfig: its user may not create tokens for ServiceAccount observability\/prometheus-server \(kubectl auth can-i create serviceaccounts --subresource=token --namespace observability: no\), which the verification does with eksa-metrics:verify\.mode "local"\. Grant it create on serviceaccounts\/token in observability, set eksa-metrics:verify\.mode "cluster"/,
                /- eksa-metrics:kubeconfig: its user may not create tokens for ServiceAccount eksa-metrics\/eksa-metrics-unbound \(kubectl auth can-i create serviceaccounts --subresource=token --namespace eksa-metrics: no\)/,
            );
            assert.doesNotMatch(local.output, /can-i create pods/);
        } finally {
            await stack.mustPulumi(["config", "set", "--secret", `${PREFIX}kubeconfig`], kubeconfig);
        }
    });

    it("a missing namespace with createNamespace false stops it, with the commands that make it", async () => {
        assertStopped(
            await preview({ createNamespace: false, namespace: "metrics-missing" }),
            /- eksa-metrics:namespace: namespace metrics-missing does not exist and eksa-metrics:createNamespace is false\. Create it \(kubectl create namespace metrics-missing && kubectl label namespace metrics-missing pod-security\.kubernetes\.io\/enforce=privileged\)/,
        );
    });

    it("a namespace enforcing Pod Security restricted stops it, with the label that fixes it", async () => {
        await cluster.mustKubectl(["create", "namespace", "metrics-restricted"]);
        await cluster.mustKubectl([
            "label",
            "namespace",
            "metrics-restricted",
            "pod-security.kubernetes.io/enforce=restricted",
        ]);
        assertStopped(
            await preview({ createNamespace: false, namespace: "metrics-restricted" }),
            /- eksa-metrics:namespace: namespace metrics-restricted enforces Pod Security "restricted", which refuses the proxy's host-network pods .* kubectl label namespace metrics-restricted pod-security\.kubernetes\.io\/enforce=privileged --overwrite/,
        );
    });

    it("no control-plane node matching the node selector stops it, naming each node's reason", async () => {
        assertStopped(
            await preview({ nodeSelector: { "example.com/pool": "blue" } }),
            /- eksa-metrics:components\.kube-controller-manager: no node will run its proxy \(eksa-cp-1: node selector example\.com\/pool=blue does not match\)/,
            /- eksa-metrics:components\.kube-proxy: no node will run its proxy \(eksa-cp-1: node selector example\.com\/pool=blue does not match; eksa-worker-1: node selector example\.com\/pool=blue does not match\)/,
        );
    });

    it("a tainted node we do not tolerate: a warning for a worker, an error for the only control-plane node", async () => {
        await cluster.mustKubectl(["taint", "node", "eksa-worker-1", "dedicated=gpu:NoSchedule"]);
        try {
            const warned = await preview({});
            assert.equal(warned.code, 0, warned.output);
            assert.match(
                warned.output,
                /warning: preflight: node eksa-worker-1: skipped, taint dedicated=gpu:NoSchedule is not tolerated: its metrics will not be served\. Add a toleration to eksa-metrics:tolerations/,
            );
            assert.match(
                warned.output,
                /preflight: node eksa-worker-1: no proxy \(taint dedicated=gpu:NoSchedule is not tolerated\)/,
            );
        } finally {
            await cluster.mustKubectl(["taint", "node", "eksa-worker-1", "dedicated=gpu:NoSchedule-"]);
        }
        await cluster.mustKubectl(["taint", "node", "eksa-cp-1", "maintenance=true:NoExecute"]);
        try {
            assertStopped(
                await preview({}),
                /- eksa-metrics:components\.etcd: no node will run its proxy \(eksa-cp-1: taint maintenance=true:NoExecute is not tolerated\)/,
            );
        } finally {
            await cluster.mustKubectl(["taint", "node", "eksa-cp-1", "maintenance=true:NoExecute-"]);
        }
    });

    describe("the docs page's metrics-proxy, applied as the docs give it", () => {
        before(async () => {
            await cluster.mustKubectl(["apply", "--namespace", "default", "-f", "-"], docsManifests());
            // Its pods are bound to both nodes (whether their containers run does not matter: they hold the ports).
            for (let i = 0; i < 60; i++) {
                const pods = JSON.parse(
                    await cluster.mustKubectl([
                        "get",
                        "pods",
                        "-n",
                        "default",
                        "-l",
                        "app=metrics-proxy",
                        "-o",
                        "json",
                    ]),
                ).items;
                if (pods.filter((p: any) => p.spec.nodeName).length === 2) {
                    return;
                }
                await new Promise((r) => setTimeout(r, 1000));
            }
            assert.fail("the docs page's DaemonSet did not get a pod on each node");
        });

        it("stops the preview, naming it, the ports per node, the preemption and both ways out", async () => {
            assertStopped(
                await preview({}),
                /- DaemonSet default\/metrics-proxy \(the EKS Anywhere docs page's manual install: .*\) holds host ports 2381 \(etcd metrics\), 10249 \(kube-proxy metrics\), 10257 \(kube-controller-manager metrics\), 10259 \(kube-scheduler metrics\) on node eksa-cp-1; 10249 \(kube-proxy metrics\) on node eksa-worker-1, which the proxy needs; our system-node-critical pods would preempt its pods/,
                /set eksa-metrics:replaceDocsMetricsProxy true .* or delete it yourself: kubectl delete daemonset metrics-proxy --namespace default --cascade=foreground --wait --ignore-not-found && kubectl delete configmap metrics-proxy --namespace default --ignore-not-found/,
            );
        });

        it("with replaceDocsMetricsProxy, preview says what up will delete, and up replaces it, rolls out and verifies", async () => {
            const planned = await preview({ replaceDocsMetricsProxy: true });
            assert.equal(planned.code, 0, planned.output);
            assert.match(
                planned.output,
                /preflight: replaceDocsMetricsProxy: `pulumi up` deletes DaemonSet default\/metrics-proxy and ConfigMap default\/metrics-proxy before the proxy rolls out/,
            );
            assert.match(planned.output, /\+ +command:local:Command +eksa-metrics-replace-docs-metrics-proxy +create/);
            const up = await stack.pulumi(["up", "--yes"]);
            assert.equal(up.code, 0, text(up));
            for (const kind of ["daemonset", "configmap"]) {
                assert.notEqual(
                    (await cluster.kubectl(["get", kind, "metrics-proxy", "-n", "default"])).code,
                    0,
                    `the docs page's ${kind} is gone`,
                );
            }
            assert.match(
                await stack.output("verificationReport"),
                verifiedPattern(await plannedCheckCount(stack, cluster)),
            );
        });
    });

    describe("after our own up", () => {
        it("our own DaemonSets are no conflict on the next preview; the key left set is a warning", async () => {
            const again = await preview({ replaceDocsMetricsProxy: true });
            assert.equal(again.code, 0, again.output);
            assert.match(
                again.output,
                /warning: preflight: eksa-metrics:replaceDocsMetricsProxy: the cluster has no metrics-proxy DaemonSet of the EKS Anywhere docs page, so there is nothing to replace/,
            );
            assert.doesNotMatch(again.output, /holds host ports/);
            stack.setConfig({});
        });

        it("a second stack of ours on the same cluster is stopped, naming the first one's DaemonSet", async () => {
            const second = new ProgramStack("preflight-second");
            await second.init(kubeconfig);
            assertStopped(
                await preview({ namespace: "metrics-second" }, second),
                /- DaemonSet eksa-metrics\/eksa-metrics-control-plane-\w+ of another eksa-metrics stack \(eksa-metrics\/stack=eksa-metrics\.preflight\) holds host ports 2381 \(etcd metrics\), 10249 \(kube-proxy metrics\), 10257 \(kube-controller-manager metrics\), 10259 \(kube-scheduler metrics\), 10263 \(haproxy health\) on node eksa-cp-1, which the proxy needs: one cluster takes one stack\. Destroy that stack first/,
                /- DaemonSet eksa-metrics\/eksa-metrics-worker-\w+ of another eksa-metrics stack \(eksa-metrics\/stack=eksa-metrics\.preflight\) holds host ports 10249 \(kube-proxy metrics\), 10263 \(haproxy health\) on node eksa-worker-1, which the proxy needs/,
            );
            assertStopped(
                await preview({}, second),
                /- eksa-metrics:namespace: namespace eksa-metrics already exists and belongs to another eksa-metrics stack \(eksa-metrics\/stack=eksa-metrics\.preflight\)/,
            );
        });

        it("a rollout that still cannot finish tells the scheduler's reason while up waits, not only the timeout", async () => {
            // Nothing the preflight reads says a pod will not fit: more CPU than any node has.
            stack.setConfig({
                proxyResources: { requests: { cpu: "5", memory: "32Mi" }, limits: { memory: "128Mi" } },
                rolloutTimeoutMinutes: 1,
            });
            const up = await stack.pulumi(["up", "--yes"]);
            assert.notEqual(up.code, 0, text(up));
            assert.match(
                text(up),
                /warning: rollout: pod eksa-metrics\/eksa-metrics-control-plane-\S+ is not scheduled: 0\/2 nodes are available: .*Insufficient cpu/,
            );
        });
    });
});

// The manifests above are read from the docs page itself: they must be the two objects its commands apply.
describe("the docs page's manifests", () => {
    it("are the metrics-proxy ConfigMap and DaemonSet", () => {
        const objects = yaml.loadAll(docsManifests()) as { kind: string; metadata: { name: string } }[];
        assert.deepEqual(
            objects.map((o) => `${o.kind}/${o.metadata.name}`),
            ["ConfigMap/metrics-proxy", "DaemonSet/metrics-proxy"],
        );
    });
});
