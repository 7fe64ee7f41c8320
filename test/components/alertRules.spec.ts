import { strict as assert } from "assert";
import * as yaml from "js-yaml";
import {
    alertRuleGroups,
    AlertRulesInput,
    CA_NOT_AFTER_SERIES,
    CERTIFICATE_NOT_AFTER_SERIES,
    promDuration,
    renderAlertRules,
} from "../../components/alertRules";
import { CATALOGUE, catalogueEntry } from "../../core/catalogue";
import { resolveSettings } from "../../config/settings";

const { jobNames } = resolveSettings({}).prometheus;
const input = (overrides: Partial<AlertRulesInput> = {}): AlertRulesInput => ({
    components: CATALOGUE,
    jobNames,
    alertForSeconds: 900,
    certificate: { serverName: "eksa-metrics-metrics-proxy", notAfter: "2027-12-01T09:00:00.000Z", validityDays: 90 },
    ca: { notAfter: "2036-11-01T00:00:00.000Z", warningDays: 210 },
    ...overrides,
});
const rules = (overrides: Partial<AlertRulesInput> = {}) => alertRuleGroups(input(overrides))[0].rules;

describe("alert rules", () => {
    it("has a target-down, a down-everywhere and a slow-scrape alert per exposed component, and one alert for the certificate and one for its CA", () => {
        assert.deepEqual(
            rules()
                .filter((r) => r.alert)
                .map((r) => r.alert),
            [
                "EksaMetricsKubeControllerManagerTargetDown",
                "EksaMetricsKubeControllerManagerDown",
                "EksaMetricsKubeControllerManagerScrapeSlow",
                "EksaMetricsKubeSchedulerTargetDown",
                "EksaMetricsKubeSchedulerDown",
                "EksaMetricsKubeSchedulerScrapeSlow",
                "EksaMetricsKubeProxyTargetDown",
                "EksaMetricsKubeProxyDown",
                "EksaMetricsKubeProxyScrapeSlow",
                "EksaMetricsEtcdTargetDown",
                "EksaMetricsEtcdDown",
                "EksaMetricsEtcdScrapeSlow",
                "EksaMetricsProxyCertificateExpiring",
                "EksaMetricsProxyCaExpiring",
            ],
        );
        const withoutEtcd = rules({ components: CATALOGUE.filter((c) => c.name !== "etcd") });
        assert.ok(
            !withoutEtcd.some((r) => r.alert?.startsWith("EksaMetricsEtcd")),
            "no alert for a component that is not exposed",
        );
    });

    it("selects each component's series by its configured job, with the configured delay", () => {
        const custom = rules({
            components: [catalogueEntry("etcd")],
            jobNames: { ...jobNames, etcd: "etcd-stacked" },
            alertForSeconds: 30,
        });
        const [targetDown, down, slow] = custom;
        assert.equal(targetDown.expr, 'up{job="etcd-stacked"} == 0');
        assert.equal(down.expr, 'absent(up{job="etcd-stacked"} == 1)');
        assert.deepEqual(
            down.labels,
            { severity: "critical", job: "etcd-stacked" },
            "absent() carries no labels of its own",
        );
        assert.match(
            slow.expr,
            /^scrape_duration_seconds\{job="etcd-stacked"\} > 0\.8 \* \(scrape_timeout_seconds\{job="etcd-stacked"\} or /,
        );
        assert.deepEqual(
            custom.filter((r) => r.alert && !r.alert.startsWith("EksaMetricsProxy")).map((r) => r.for),
            ["30s", "30s", "30s"],
        );
    });

    it("records the certificate's notAfter as a series and warns within the renewal margin", () => {
        const [record, alert] = rules().slice(-4, -2);
        assert.deepEqual(record, {
            record: CERTIFICATE_NOT_AFTER_SERIES,
            expr: `vector(${Date.parse("2027-12-01T09:00:00Z") / 1000})`,
            labels: { server_name: "eksa-metrics-metrics-proxy" },
        });
        assert.equal(
            alert.expr,
            `${CERTIFICATE_NOT_AFTER_SERIES}{server_name="eksa-metrics-metrics-proxy"} - time() < ${30 * 86400}`,
        );
        const short = rules({
            certificate: { serverName: "m.example", notAfter: "2027-01-01T00:00:00Z", validityDays: 9 },
        }).slice(-3)[0];
        assert.match(short.expr, / < 259200$/, "a third of a 9-day validity: 3 days");
        const issued = rules({
            certificate: { serverName: "m.example", notAfter: "2027-12-01T09:56:16.909Z", validityDays: 365 },
        }).slice(-4)[0];
        assert.equal(
            issued.expr,
            `vector(${Date.parse("2027-12-01T09:56:16Z") / 1000})`,
            "tls.ts's notAfter has milliseconds; the certificate whole seconds",
        );
    });

    it("records the signing CA's notAfter as its own series and warns its own number of days before it", () => {
        const [record, alert] = rules().slice(-2);
        assert.deepEqual(record, {
            record: CA_NOT_AFTER_SERIES,
            expr: `vector(${Date.parse("2036-11-01T00:00:00Z") / 1000})`,
            labels: { server_name: "eksa-metrics-metrics-proxy" },
        });
        assert.equal(alert.alert, "EksaMetricsProxyCaExpiring");
        assert.equal(
            alert.expr,
            `${CA_NOT_AFTER_SERIES}{server_name="eksa-metrics-metrics-proxy"} - time() < ${210 * 86400}`,
        );
        assert.throws(
            () => rules({ ca: { notAfter: "later", warningDays: 1 } }),
            /CA notAfter "later" is not an ISO-8601 time/,
        );
    });

    it("refuses a notAfter that is not a time", () => {
        assert.throws(
            () => rules({ certificate: { serverName: "m.example", notAfter: "soon", validityDays: 365 } }),
            /notAfter "soon" is not an ISO-8601 time/,
        );
    });

    it("writes durations in Prometheus' units", () => {
        assert.deepEqual([900, 30, 7200, 90, 0].map(promDuration), ["15m", "30s", "2h", "90s", "0s"]);
    });

    it("renders one rule group as a rule file", () => {
        assert.deepEqual(yaml.load(renderAlertRules(input())), { groups: alertRuleGroups(input()) });
    });
});
