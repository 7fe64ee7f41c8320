/**
 * The alert rules that ship with the stack, as a Prometheus rule group: per exposed component, a
 * target down on one node, the component absent on every node and scrapes close to their timeout;
 * and the proxy's serving certificate and its CA nearing their end. Pure; the rule file (`alertRules` output)
 * and the Prometheus Operator's PrometheusRule are both made from `alertRuleGroups`.
 */
import * as yaml from "js-yaml";
import { CatalogueEntry, ComponentName } from "../core/catalogue";
import { PROMETHEUS_SCRAPE_TIMEOUT_SECONDS } from "../config/settings";
import { renewalMarginDays } from "./tlsSchedule";

export interface AlertRulesInput {
    /** The exposed components, in catalogue order. */
    components: readonly CatalogueEntry[];
    /** The `job` label of each component's series (the scrape jobs' names). */
    jobNames: Record<ComponentName, string>;
    /** How long a condition holds before its alert fires. */
    alertForSeconds: number;
    /** The proxy's serving certificate: the name it is issued for, its ISO-8601 notAfter and its validity. */
    certificate: { serverName: string; notAfter: string; validityDays: number };
    /** The CA that signed it: its ISO-8601 notAfter, and how long before it the warning starts (`caWarningDays`). */
    ca: { notAfter: string; warningDays: number };
}

export interface Rule {
    record?: string;
    alert?: string;
    expr: string;
    for?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
}

export interface RuleGroup {
    name: string;
    rules: Rule[];
}

export const RULE_GROUP_NAME = "eksa-metrics";
/**
 * Prometheus exports no certificate dates of its targets, and neither haproxy nor kube-rbac-proxy does
 * either; the stack knows notAfter, so a recording rule makes it a series (for dashboards too).
 */
export const CERTIFICATE_NOT_AFTER_SERIES = "eksa_metrics_proxy_certificate_not_after_timestamp_seconds";
/** The same for the CA that signed the serving certificate. */
export const CA_NOT_AFTER_SERIES = "eksa_metrics_proxy_ca_not_after_timestamp_seconds";
/** A scrape taking more than this share of its timeout is close to failing. */
export const SLOW_SCRAPE_RATIO = 0.8;

const DAY_SECONDS = 24 * 60 * 60;

/** "kube-controller-manager" -> "KubeControllerManager". */
function pascal(name: string): string {
    return name
        .split("-")
        .map((word) => word[0].toUpperCase() + word.slice(1))
        .join("");
}

/** Prometheus duration: the largest whole unit ("15m", "90s", "2h"). */
export function promDuration(seconds: number): string {
    for (const [unit, size] of [
        ["h", 3600],
        ["m", 60],
    ] as const) {
        if (seconds > 0 && seconds % size === 0) {
            return `${seconds / size}${unit}`;
        }
    }
    return `${seconds}s`;
}

function componentRules(entry: CatalogueEntry, job: string, forDuration: string): Rule[] {
    const name = pascal(entry.name);
    const up = `up{job=${JSON.stringify(job)}}`;
    const duration = `scrape_duration_seconds{job=${JSON.stringify(job)}}`;
    const where = entry.placement === "control-plane" ? "control-plane node" : "node";
    return [
        {
            alert: `EksaMetrics${name}TargetDown`,
            // Prometheus' own error for the target (e.g. the proxy's 503) is on its targets page.
            expr: `${up} == 0`,
            for: forDuration,
            labels: { severity: "warning" },
            annotations: {
                summary: `${entry.name} metrics cannot be scraped on a node.`,
                description: `Prometheus has failed to scrape ${entry.name} on {{ $labels.node }} ({{ $labels.instance }}) for ${forDuration}: the component or the eksa-metrics proxy on that node is down, or the reader's token is refused.`,
            },
        },
        {
            alert: `EksaMetrics${name}Down`,
            // absent() also fires when the job is not scraped at all (no such target discovered).
            expr: `absent(${up} == 1)`,
            for: forDuration,
            labels: { severity: "critical", job },
            annotations: {
                summary: `${entry.name} is not scraped on any ${where}.`,
                description: `No ${entry.name} target of job ${job} has been up for ${forDuration}: the scrape job is missing, the eksa-metrics proxy is not running, or ${entry.name} is down on every ${where}.`,
            },
        },
        {
            alert: `EksaMetrics${name}ScrapeSlow`,
            // scrape_timeout_seconds exists only with extra_scrape_metrics; otherwise Prometheus' default timeout.
            expr: `${duration} > ${SLOW_SCRAPE_RATIO} * (scrape_timeout_seconds{job=${JSON.stringify(job)}} or (0 * ${duration} + ${PROMETHEUS_SCRAPE_TIMEOUT_SECONDS}))`,
            for: forDuration,
            labels: { severity: "warning" },
            annotations: {
                summary: `${entry.name} scrapes are close to their timeout.`,
                description: `Scraping ${entry.name} on {{ $labels.node }} takes {{ $value | humanizeDuration }}, more than ${SLOW_SCRAPE_RATIO * 100}% of the scrape timeout, for ${forDuration}: the component or the node is overloaded, or the proxy's upstream is slow.`,
            },
        },
    ];
}

/** X.509 keeps whole seconds; tls.ts may report a time with milliseconds. */
function notAfterSeconds(what: string, notAfter: string): number {
    const ms = Date.parse(notAfter);
    if (Number.isNaN(ms)) {
        throw new Error(`${what} notAfter "${notAfter}" is not an ISO-8601 time`);
    }
    return Math.floor(ms / 1000);
}

function certificateRules({ certificate, ca }: AlertRulesInput): Rule[] {
    const serverName = { server_name: certificate.serverName };
    const selector = `{server_name=${JSON.stringify(certificate.serverName)}}`;
    const marginDays = renewalMarginDays(certificate.validityDays);
    return [
        {
            record: CERTIFICATE_NOT_AFTER_SERIES,
            expr: `vector(${notAfterSeconds("certificate", certificate.notAfter)})`,
            labels: serverName,
        },
        {
            alert: "EksaMetricsProxyCertificateExpiring",
            // A `pulumi up` re-issues it by then; a clock condition, so no `for`.
            expr: `${CERTIFICATE_NOT_AFTER_SERIES}${selector} - time() < ${Math.round(marginDays * DAY_SECONDS)}`,
            labels: { severity: "warning" },
            annotations: {
                summary: "The eksa-metrics proxy's serving certificate expires soon.",
                description: `The certificate for ${certificate.serverName} expires in {{ $value | humanizeDuration }} (at ${certificate.notAfter}); every scrape through the proxy fails after that. Run pulumi up on the stack: it re-issues the certificate and rolls the proxy pods.`,
            },
        },
        {
            record: CA_NOT_AFTER_SERIES,
            expr: `vector(${notAfterSeconds("CA", ca.notAfter)})`,
            labels: serverName,
        },
        {
            alert: "EksaMetricsProxyCaExpiring",
            // Replacing the CA through a bundle takes a few renewal periods: warn while there is time for it.
            expr: `${CA_NOT_AFTER_SERIES}${selector} - time() < ${Math.round(ca.warningDays * DAY_SECONDS)}`,
            labels: { severity: "warning" },
            annotations: {
                summary: "The CA of the eksa-metrics proxy's serving certificate expires soon.",
                description: `The CA that signs the certificate for ${certificate.serverName} expires in {{ $value | humanizeDuration }} (at ${ca.notAfter}); every scrape through the proxy fails after that. Run pulumi up on the stack in each renewal period: it publishes a bundle with a new CA, moves the proxies to it after the overlap, then drops the old CA. Scrapers must re-read the stack's caCertificate in between.`,
            },
        },
    ];
}

export function alertRuleGroups(input: AlertRulesInput): RuleGroup[] {
    const forDuration = promDuration(input.alertForSeconds);
    return [
        {
            name: RULE_GROUP_NAME,
            rules: [
                ...input.components.flatMap((entry) => componentRules(entry, input.jobNames[entry.name], forDuration)),
                ...certificateRules(input),
            ],
        },
    ];
}

/** The rule file Prometheus loads (rule_files). */
export function renderAlertRules(input: AlertRulesInput): string {
    return yaml.dump({ groups: alertRuleGroups(input) }, { lineWidth: 200, noRefs: true });
}
