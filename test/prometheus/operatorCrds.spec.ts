/**
 * The Prometheus Operator's objects against the operator's real CRDs (from the Go module pinned in
 * dev/toolchain/go/prometheus-operator, read where Go keeps it), served by a real kube-apiserver
 * (dev/localcluster/): a server-side dry run with strict field validation accepts them, and refuses
 * a broken one. Root, inside test/sandbox.sh.
 */
import { strict as assert } from "assert";
import { alertRuleGroups } from "../../components/alertRules";
import { CATALOGUE, CONTROLLER_CATALOGUE } from "../../core/catalogue";
import { targetOf } from "../../config/controllers";
import {
    OperatorObjectsInput,
    operatorCaConfigMap,
    operatorPrometheusRule,
    operatorScrapeConfigs,
    operatorTokenSecret,
} from "../../components/prometheusOperator";
import { resolveSettings } from "../../config/settings";
import { LocalCluster } from "../../dev/localcluster/driver";
import { applyOperatorCrds } from "../support/prometheusOperator";

const settings = resolveSettings({
    prometheusOperator: { enabled: true, labels: { release: "kube-prometheus-stack" } },
});
const input: OperatorObjectsInput = {
    name: "eksa-metrics",
    namespace: settings.prometheusOperator.namespace,
    labels: settings.prometheusOperator.labels,
    components: CATALOGUE,
    jobNames: settings.prometheus.jobNames,
    nodeSelector: { "kubernetes.io/os": "linux" },
    tlsServerName: settings.tlsServerName,
    controllers: CONTROLLER_CATALOGUE.map(targetOf),
    controllerTls: {},
};
// A controller whose certificate is pinned (controllers.tls), the CA in the same ConfigMap.
const pinned: OperatorObjectsInput = {
    ...input,
    components: [],
    controllers: [
        {
            name: "my-operator",
            namespace: "my-operator-system",
            selector: { "control-plane": "controller-manager" },
            port: 8443,
        },
    ],
    controllerTls: { caCertificate: "-----BEGIN CERTIFICATE-----\n", serverName: "controllers.example.internal" },
};
const groups = alertRuleGroups({
    components: CATALOGUE,
    jobNames: settings.prometheus.jobNames,
    alertForSeconds: settings.prometheus.alertForSeconds,
    certificate: { serverName: settings.tlsServerName, notAfter: "2027-12-01T00:00:00.000Z", validityDays: 365 },
    ca: { notAfter: "2036-11-01T00:00:00.000Z", warningDays: 210 },
});
const objects = [
    operatorTokenSecret(input),
    operatorCaConfigMap(pinned, "-----BEGIN CERTIFICATE-----\n"),
    ...operatorScrapeConfigs(input),
    ...operatorScrapeConfigs(pinned),
    operatorPrometheusRule(input, groups),
];
const list = (items: unknown[]) => JSON.stringify({ apiVersion: "v1", kind: "List", items });

describe("Prometheus Operator objects against the operator's CRDs on a real API server", function () {
    this.timeout(15 * 60_000);
    const cluster = new LocalCluster();

    before(async function () {
        assert.ok(
            process.env.EKSA_METRICS_SANDBOX === "1" && process.getuid?.() === 0,
            "run as root inside test/sandbox.sh",
        );
        await cluster.up();
        await applyOperatorCrds(cluster);
        await cluster.mustKubectl(["create", "namespace", input.namespace]);
    });
    after(async () => {
        await cluster.down();
    });

    it("accepts every object, with strict field validation (no field unknown to the CRD)", async () => {
        const out = await cluster.mustKubectl(
            ["apply", "--dry-run=server", "--validate=strict", "-f", "-"],
            list(objects),
        );
        assert.equal(out.trim().split("\n").length, objects.length, out);
        assert.ok(
            out
                .trim()
                .split("\n")
                .every((line) => / (created|configured) \(server dry run\)$/.test(line)),
            out,
        );
    });

    it("keeps every field as written (nothing pruned) once stored, the CRD adding only its default relabel action", async () => {
        const custom = objects.filter((o) => o.apiVersion.startsWith("monitoring.coreos.com/"));
        await cluster.mustKubectl(["apply", "--validate=strict", "-f", "-"], list(custom));
        for (const object of custom) {
            const stored = JSON.parse(
                await cluster.mustKubectl([
                    "get",
                    "-n",
                    input.namespace,
                    `${object.kind}.monitoring.coreos.com/${object.metadata.name}`,
                    "-o",
                    "json",
                ]),
            );
            const spec = JSON.parse(JSON.stringify(object.spec));
            for (const relabeling of spec.relabelings ?? []) {
                relabeling.action ??= "replace";
            }
            assert.deepEqual(stored.spec, spec, `${object.kind} ${object.metadata.name}`);
        }
    });

    it("refuses what the CRDs do not allow (the check can fail)", async () => {
        const [first] = operatorScrapeConfigs(input);
        const lowerCaseRole = {
            ...first,
            spec: { ...(first.spec as object), kubernetesSDConfigs: [{ role: "node" }] },
        };
        const unknownField = { ...first, spec: { ...(first.spec as object), job_name: "x" } };
        for (const [bad, message] of [
            [lowerCaseRole, /Unsupported value: "node"/],
            [unknownField, /unknown field "(spec\.)?job_name"/],
        ] as const) {
            const result = await cluster.kubectl(
                ["apply", "--dry-run=server", "--validate=strict", "-f", "-"],
                list([bad]),
            );
            assert.notEqual(result.code, 0);
            assert.match(result.stderr, message);
        }
    });
});
