/**
 * Two local control planes at once (dev/localcluster/ with address blocks 127.0.1 and 127.0.2),
 * as a fleet test needs them: each runs in a network namespace of its own with the same ports,
 * and is reached from ours through its forwarders only at its block's addresses.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { LocalCluster, run } from "../../dev/localcluster/driver";

const PROCESSES = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "nsfwd"];

/** The HTTP status curl gets for `url` ("000" when nothing answers), run as `wrap` says. */
async function httpCode(url: string, wrap: (argv: string[]) => string[] = (argv) => argv): Promise<string> {
    const result = await run(wrap(["curl", "-sk", "--max-time", "3", "-o", "/dev/null", "-w", "%{http_code}", url]));
    return result.stdout;
}

function netnsOf(pid: string): string {
    return fs.readlinkSync(`/proc/${pid}/ns/net`);
}

/** The process itself: a supervised component's (run/NAME.child), else the one up.sh started (run/NAME.pid). */
function pidOf(cluster: LocalCluster, name: string): string {
    const child = path.join(cluster.dir, "run", `${name}.child`);
    const file = fs.existsSync(child) ? child : path.join(cluster.dir, "run", `${name}.pid`);
    return fs.readFileSync(file, "utf8").split(" ")[0];
}

function clusterNetns(cluster: LocalCluster): string {
    return fs.readFileSync(path.join(cluster.dir, "run", "cluster-netns"), "utf8").trim();
}

/** A host-network DaemonSet on every node whose haproxy answers on NODE_IP:10263 with its address. */
const ECHO = `
apiVersion: v1
kind: ConfigMap
metadata: {name: echo, namespace: default}
data:
  haproxy.cfg: |
    defaults
      mode http
      timeout connect 2s
      timeout client 5s
      timeout server 5s
    frontend node
      bind "\${NODE_IP}:10263"
      http-request return status 200 content-type text/plain string "served by \${NODE_IP}"
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: echo, namespace: default}
spec:
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      hostNetwork: true
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 2
      tolerations: [{operator: Exists}]
      securityContext: {runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534}
      containers:
      - name: haproxy
        image: docker.io/library/haproxy:2.8
        command: ["haproxy", "-W", "-db", "-f", "/cfg/haproxy.cfg"]
        env:
        - name: NODE_IP
          valueFrom: {fieldRef: {fieldPath: status.hostIP}}
        # Ready once haproxy listens, so the rollout's end means it answers.
        readinessProbe: {tcpSocket: {port: 10263}, periodSeconds: 1}
        volumeMounts: [{name: cfg, mountPath: /cfg}]
      volumes: [{name: cfg, configMap: {name: echo}}]
`;

describe("two local control planes at once, each in a network namespace of its own", function () {
    this.timeout(300_000);
    const one = new LocalCluster(undefined, { addressBlock: "127.0.1" });
    const two = new LocalCluster(undefined, { addressBlock: "127.0.2" });

    before(async () => {
        // One after the other: both would build a missing kubelet binary into the same file.
        await one.up();
        await two.up();
    });

    after(async () => {
        await Promise.all([one.down(), two.down()]);
    });

    it("each apiserver answers at its block's .1 with its own nodes", async () => {
        for (const [cluster, block] of [
            [one, "127.0.1"],
            [two, "127.0.2"],
        ] as const) {
            assert.equal(cluster.apiServer, `https://${block}.1:6443`);
            assert.match(
                cluster.kubeconfig(),
                new RegExp(`server: https://${block.replace(/\./g, "\\.")}\\.1:6443\\n`),
            );
            // kubectl verifies the apiserver's certificate for that address against the cluster CA.
            const ips = await cluster.mustKubectl([
                "get",
                "nodes",
                "-o",
                "jsonpath={.items[*].status.addresses[?(@.type=='InternalIP')].address}",
            ]);
            assert.deepEqual(ips.split(" ").sort(), [`${block}.2`, `${block}.3`]);
            assert.deepEqual(cluster.nodeIPs, [`${block}.2`, `${block}.3`]);
        }
    });

    it("every process of a cluster runs in that cluster's namespace, none in ours or the other's", () => {
        const ours = netnsOf("self");
        const [nsOne, nsTwo] = [one, two].map((cluster) => netnsOf(pidOf(cluster, "etcd")));
        assert.notEqual(nsOne, nsTwo);
        for (const [cluster, ns] of [
            [one, nsOne],
            [two, nsTwo],
        ] as const) {
            assert.equal(`net:[${fs.statSync(`/run/netns/${clusterNetns(cluster)}`).ino}]`, ns);
            assert.notEqual(ns, ours);
            for (const name of PROCESSES) {
                assert.equal(netnsOf(pidOf(cluster, name)), ns, `${name} of ${cluster.addressBlock}`);
            }
            // the forwarder is the one process of the cluster in ours
            assert.equal(netnsOf(pidOf(cluster, "fwd")), ours);
        }
    });

    it("each kube-controller-manager answers on 127.0.0.1:10257 inside its own namespace only", async () => {
        for (const cluster of [one, two]) {
            assert.equal(await httpCode("https://127.0.0.1:10257/healthz", (argv) => cluster.onNode(argv)), "200");
            const listener = await run(cluster.onNode(["ss", "-Hltnp", "sport = :10257"]));
            assert.match(
                listener.stdout,
                new RegExp(`127\\.0\\.0\\.1:10257 .*pid=${pidOf(cluster, "kube-controller-manager")},`),
            );
        }
        for (const url of [
            "https://127.0.0.1:10257/healthz",
            "https://127.0.1.1:10257/healthz",
            "https://127.0.2.1:10257/healthz",
        ]) {
            assert.equal(await httpCode(url), "000", `${url} answers in our namespace`);
        }
    });

    it("a host-network pod bound to NODE_IP:10263 in one cluster is reached from ours at that node IP", async () => {
        await one.mustKubectl(["apply", "-f", "-"], ECHO);
        await one.mustKubectl(["-n", "default", "rollout", "status", "daemonset/echo", "--timeout=90s"]);
        for (const ip of one.nodeIPs) {
            const body = await run(["curl", "-fsS", "--max-time", "3", `http://${ip}:10263/`]);
            assert.equal(body.stdout, `served by ${ip}`, body.stderr);
        }
        // the kubelet API of the node, through the same forwarder (401: no client certificate)
        assert.equal(await httpCode(`https://${one.nodeIPs[0]}:10250/`), "401");
        // the other cluster runs no such pod
        assert.equal(await httpCode(`http://${two.nodeIPs[0]}:10263/`), "000");
    });

    it("down.sh stops both and removes their namespaces and forwarders", async () => {
        const namespaces = [one, two].map(clusterNetns);
        await Promise.all([one.down(), two.down()]);
        for (const ns of namespaces) {
            assert.ok(!fs.existsSync(`/run/netns/${ns}`), `${ns} left behind`);
        }
        const listeners = await run(["ss", "-Hltn"]);
        assert.doesNotMatch(listeners.stdout, /127\.0\.[12]\.\d+:/);
    });
});
