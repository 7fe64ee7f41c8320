// Cluster API style controllers (controller-runtime managers) serve metrics and pprof on their
// diagnostics endpoint. With --diagnostics-address (default :8443) and --insecure-diagnostics=false
// the endpoint requires TLS, a token and RBAC; with --insecure-diagnostics=true, or the older
// --metrics-bind-addr on all interfaces, it serves plain HTTP to anyone.

import { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { controllerImages } from "../../core/catalogue";
import { classifyListenAddress } from "../../core/addresses";
import {
    boolFlagValue,
    CommandLine,
    FlagValue,
    flagValues,
    imageProgram,
    Program,
    workloadCommandLines,
} from "../../core/containers";
import { describeResource, formatPath, UNKNOWN, workloadOf } from "../../core/resources";
import { Assessment, assessOrNotApplicable, PolicyDocs, unknownMessage } from "../lib/preview";

export const CONTROLLER_DIAGNOSTICS = "controller-diagnostics-authenticated";

export const controllerDiagnosticsDocs: PolicyDocs = {
    reference:
        "Cluster API diagnostics endpoint (`--diagnostics-address`, `--insecure-diagnostics`); the eksa-metrics design (EKS-A, etcdadm and CAPI provider controllers on :8443)",
    looksAt: [
        "Pods and workloads: containers running a controller-runtime manager image of CAPI core, kubeadm bootstrap / control plane, EKS Anywhere cluster controller and packages, etcdadm bootstrap / controller, CAPV, CAPX, CAPT or CAPC: `--insecure-diagnostics`, `--diagnostics-address`, and the older metrics flags `--metrics-addr`, `--metrics-bind-addr`, `--metrics-bind-address`",
    ],
};

/**
 * The controllers the design scrapes on :8443, by image (the stack's catalogue); `manager` is the kubebuilder entrypoint
 * they share (a command line found by it counts only with one of these images: other operators'
 * `--metrics-bind-address` has other defaults, e.g. kubebuilder v4's authenticated :8443).
 */
const MANAGER: Program = {
    name: "controller-runtime manager",
    executables: ["manager"],
    images: controllerImages(),
};

const RULE = "keep --diagnostics-address=:8443 with --insecure-diagnostics=false";
const NOT_APPLICABLE = "only Pods and workloads can run a controller-runtime manager";
/** CAPI's default diagnostics address. */
const DEFAULT_DIAGNOSTICS_ADDRESS = ":8443";
/**
 * The metrics listener flags the catalogue's controllers have had, each with why it is unauthenticated:
 * Cluster API v0.3 (and providers of its era) `--metrics-addr` (default :8080); v0.4 to v1.5
 * `--metrics-bind-addr`; from v1.6 `--metrics-bind-addr` is deprecated but, when set, still wins over
 * `--diagnostics-address` and serves plain HTTP without authentication (v1.6 util/flags/diagnostics.go,
 * GetDiagnosticsOptions); v1.14 no longer has it (util/flags/manager.go). `--metrics-bind-address` is the
 * kubebuilder spelling (EKS Anywhere's controllers), authenticated only with --diagnostics-address or
 * --metrics-secure.
 */
const METRICS_FLAGS: readonly {
    readonly flag: string;
    readonly overridesDiagnostics: boolean;
    readonly why: string;
}[] = [
    {
        flag: "metrics-addr",
        overridesDiagnostics: true,
        why: "--metrics-addr (Cluster API v0.3 and providers of its era) is a plain HTTP listener with no token check",
    },
    {
        flag: "metrics-bind-addr",
        overridesDiagnostics: true,
        why:
            "--metrics-bind-addr is a plain HTTP listener with no token check (Cluster API v0.4 to v1.5), and from v1.6, " +
            "where it is deprecated, it still replaces the authenticated --diagnostics-address endpoint when set",
    },
    {
        flag: "metrics-bind-address",
        overridesDiagnostics: false,
        why: "without --diagnostics-address the metrics listener is plain HTTP with no token check",
    },
];

/** "0" (and "") switch the listener off. */
const isDisabled = (value: string) => value.trim() === "0" || value.trim() === "";

function lastValue(line: CommandLine, flag: string): FlagValue | undefined {
    const values = flagValues(line, flag);
    return values[values.length - 1];
}

function assessLine(line: CommandLine, resource: string, violations: string[], unknowns: string[]): void {
    const where = `${formatPath(line.containerPath)} (${line.identifiedBy})`;
    const insecure = boolFlagValue(line, "insecure-diagnostics");
    const diagnostics = lastValue(line, "diagnostics-address");
    const secureMetrics = boolFlagValue(line, "metrics-secure");
    const metricsValues = METRICS_FLAGS.map(({ flag }) => lastValue(line, flag));
    // An unknown argument could be any of the flags: one message per field.
    const unknownPaths = new Set(
        [insecure, diagnostics, secureMetrics, ...metricsValues].flatMap((v) =>
            v?.state === "unknown" ? [v.path] : [],
        ),
    );
    for (const path of unknownPaths) {
        unknowns.push(
            unknownMessage(
                resource,
                path,
                "whether the controller's diagnostics and metrics endpoints are authenticated",
                RULE,
            ),
        );
    }
    const remedy =
        `Run the controller with --diagnostics-address=:8443 --insecure-diagnostics=false (metrics over TLS, token and ` +
        `RBAC checked by the controller) and grant the scraper the eksa-metrics metrics-reader role (get on /metrics).`;

    if (insecure?.state === "set" && insecure.value === "true") {
        const address = diagnostics?.state === "set" ? diagnostics.value : DEFAULT_DIAGNOSTICS_ADDRESS;
        const reach = classifyListenAddress(address).reach;
        if (diagnostics?.state !== "unknown" && !isDisabled(address) && reach !== "loopback") {
            const on =
                diagnostics?.state === "set"
                    ? `${diagnostics.path} = ${JSON.stringify(diagnostics.written ?? diagnostics.value)}`
                    : `the default ${DEFAULT_DIAGNOSTICS_ADDRESS}`;
            violations.push(
                `controller diagnostics without authentication: ${resource} runs a controller-runtime manager in ${where} with ` +
                    `${insecure.path} = ${JSON.stringify(insecure.written)}, so its diagnostics endpoint (${on}) serves metrics and ` +
                    `pprof over plain HTTP to anyone who reaches it. ${remedy}`,
            );
        }
    }

    metricsValues.forEach((metrics, i) => {
        const { overridesDiagnostics, why } = METRICS_FLAGS[i];
        if (
            !metrics ||
            metrics.state === "unknown" ||
            metrics.downwardApi ||
            isDisabled(metrics.value) ||
            (!overridesDiagnostics &&
                (diagnostics !== undefined || (secureMetrics?.state === "set" && secureMetrics.value === "true")))
        ) {
            return;
        }
        const verdict = classifyListenAddress(metrics.value);
        if (verdict.reach === "all-interfaces") {
            violations.push(
                `controller metrics without authentication on all interfaces: ${resource} runs a controller-runtime manager in ${where} ` +
                    `with ${metrics.path} = ${JSON.stringify(metrics.written ?? metrics.value)}; ${verdict.reason}, and ${why}. ${remedy}`,
            );
        }
    });
}

export function assessControllerDiagnostics(type: string, pulumiName: string, props: unknown): Assessment | undefined {
    const workload = workloadOf(type);
    if (!workload) {
        return undefined;
    }
    const resource = describeResource(type, pulumiName, props);
    const scan = workloadCommandLines(props, workload, [MANAGER]);
    const violations: string[] = [];
    const unknownProgram = (path: string) =>
        unknownMessage(
            resource,
            path,
            "whether it runs a controller-runtime manager (and its diagnostics flags)",
            RULE,
        );
    const unknowns = scan.unknowns.map(unknownProgram);
    for (const line of scan.commandLines) {
        const image = line.container.image;
        if (image === UNKNOWN) {
            unknowns.push(unknownProgram(formatPath([...line.containerPath, "image"])));
        } else if (typeof image === "string" && imageProgram(image, [MANAGER])) {
            assessLine(line, resource, violations, unknowns);
        }
    }
    return { violations, unknowns };
}

export const controllerDiagnosticsAuthenticated: ResourceValidationPolicy = {
    name: CONTROLLER_DIAGNOSTICS,
    displayName: "controllers' diagnostics endpoints require authentication",
    description:
        "A controller-runtime manager (Cluster API core and providers, EKS Anywhere, etcdadm) must not run with " +
        "--insecure-diagnostics=true off loopback, nor serve --metrics-bind-addr(ess) on all interfaces without " +
        "--diagnostics-address: both serve metrics and pprof over plain HTTP without authentication.",
    severity: "high",
    remediationSteps:
        "Use --diagnostics-address=:8443 --insecure-diagnostics=false and scrape with a token bound to the eksa-metrics metrics-reader role.",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        const assessment = assessOrNotApplicable(args, assessControllerDiagnostics, undefined, NOT_APPLICABLE);
        assessment.violations.forEach((message) => reportViolation(message));
    },
};
