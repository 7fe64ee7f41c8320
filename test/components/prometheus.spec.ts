import { strict as assert } from "assert";
import * as yaml from "js-yaml";
import { only, registerUnder, valueOf } from "../support/mockEngine";
import * as pulumi from "@pulumi/pulumi";
import { resolveSettings } from "../../config/settings";
import { registerPrometheusObjects } from "../../components/prometheus";

const INPUT = {
    readerRoleName: "metrics-metrics-reader-abc123",
    caCertificate: "CA-PEM\n",
    tlsAlertInput: {
        certificate: {
            serverName: "eksa-metrics-metrics-proxy",
            notAfter: "2027-01-01T00:00:00.000Z",
            validityDays: 90,
        },
        ca: { notAfter: "2036-01-01T00:00:00.000Z", warningDays: 210 },
    },
};

describe("registerPrometheusObjects", function () {
    this.timeout(20_000);

    it("renders the scrape jobs (the proxy's CA and the pod's token) and the alert rules, and registers nothing by default", async () => {
        const settings = resolveSettings({
            components: { etcd: false },
            prometheus: { jobNames: { "kube-proxy": "kp" } },
        });
        const { result, children } = await registerUnder((opts) =>
            registerPrometheusObjects("metrics", settings, INPUT, opts),
        );
        assert.deepEqual(children, []);
        const jobs = (yaml.load(await valueOf(result.scrapeConfig)) as any).scrape_configs as any[];
        assert.deepEqual(
            jobs.map((j) => j.job_name),
            ["kube-controller-manager", "kube-scheduler", "kp"],
        );
        assert.deepEqual(jobs[0].tls_config, {
            ca_file: "/etc/prometheus/eksa-metrics/ca.crt",
            server_name: "eksa-metrics-metrics-proxy",
        });
        assert.equal(jobs[0].authorization.credentials_file, "/var/run/secrets/kubernetes.io/serviceaccount/token");
        const rules = yaml.load(await valueOf(result.alertRules)) as any;
        const exprs = rules.groups.flatMap((g: any) => g.rules.map((r: any) => `${r.expr}`));
        assert.ok(
            exprs.some((e: string) => e.includes('job="kp"')),
            exprs.join("\n"),
        );
        assert.ok(!exprs.some((e: string) => e.includes("etcd")), "no rule for a component that is off");
        assert.ok(
            rules.groups.flatMap((g: any) => g.rules).every((r: any) => r.for === "15m" || r.for === undefined),
            "alertForSeconds' default, 900 s",
        );
    });

    it("pins the controllers' CA when one is given", async () => {
        const settings = resolveSettings({
            controllers: {
                expect: ["capi-controller-manager"],
                tls: {
                    caCertificate: "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----",
                    serverName: "c.local",
                },
            },
        });
        const { result } = await registerUnder((opts) => registerPrometheusObjects("m", settings, INPUT, opts));
        const jobs = (yaml.load(await valueOf(result.scrapeConfig)) as any).scrape_configs as any[];
        const controller = jobs.find((j) => j.job_name === "capi-controller-manager");
        assert.deepEqual(controller.tls_config, {
            ca_file: "/etc/prometheus/eksa-metrics/controllers-ca.crt",
            server_name: "c.local",
        });
    });

    it("registers the Prometheus Operator's objects, with the same rules, when prometheusOperator is enabled", async () => {
        const settings = resolveSettings({ prometheusOperator: { enabled: true, labels: { release: "kps" } } });
        const { result, children } = await registerUnder((opts) =>
            registerPrometheusObjects(
                "metrics",
                settings,
                { ...INPUT, tlsAlertInput: pulumi.output(INPUT.tlsAlertInput) },
                opts,
            ),
        );
        const rule = only(children, "kubernetes:monitoring.coreos.com/v1:PrometheusRule", "metrics-alerts").props;
        assert.deepEqual(rule.spec.groups, (yaml.load(await valueOf(result.alertRules)) as any).groups);
        const scrapeConfigs = children.filter(
            (c) => c.type === "kubernetes:monitoring.coreos.com/v1alpha1:ScrapeConfig",
        );
        assert.equal(scrapeConfigs.length, 4);
        assert.ok(scrapeConfigs.every((c) => c.props.metadata.namespace === "monitoring"));
        const binding = only(children, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "metrics-scraper");
        assert.equal(binding.props.roleRef.name, "metrics-metrics-reader-abc123");
    });
});
