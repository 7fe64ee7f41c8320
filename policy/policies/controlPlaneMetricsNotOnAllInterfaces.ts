// kube-scheduler and kube-controller-manager must not bind all interfaces, wherever a cluster
// definition says where they bind (CIS Kubernetes Benchmark 1.3.7 / 1.4.2).

import { isIP } from "net";
import { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { classifyBindAddress } from "../../core/addresses";
import { CommandLine, flagValues, Program, workloadCommandLines } from "../../core/containers";
import {
    clusterConfigurations,
    describeResource,
    EKSA_CLUSTER,
    extraArgValues,
    flagKey,
    formatPath,
    isKind,
    KeyMatcher,
    Render,
    UNKNOWN,
    workloadOf,
} from "../../core/resources";
import { Assessment, assessOrNotApplicable, PolicyDocs, unknownMessage } from "../lib/preview";

export const NOT_ON_ALL_INTERFACES = "control-plane-metrics-not-on-all-interfaces";

export type Component = "kube-scheduler" | "kube-controller-manager";
export const COMPONENTS: readonly Component[] = ["kube-controller-manager", "kube-scheduler"];

const PROGRAMS: readonly Program[] = COMPONENTS.map((name) => ({ name, executables: [name], images: [name] }));

/** CIS Kubernetes Benchmark recommendations: "Ensure that the --bind-address argument is set to 127.0.0.1". */
export const CIS_RECOMMENDATION: Readonly<Record<Component, string>> = {
    "kube-controller-manager": "CIS Kubernetes Benchmark 1.3.7",
    "kube-scheduler": "CIS Kubernetes Benchmark 1.4.2",
};

export const controlPlaneBindAddressDocs: PolicyDocs = {
    reference: "CIS Kubernetes Benchmark 1.3.7 (kube-controller-manager), 1.4.2 (kube-scheduler)",
    looksAt: [
        "EKS Anywhere Cluster: `spec.controlPlaneConfiguration.controllerManagerExtraArgs` / `schedulerExtraArgs`, keys `bind-address` and `bindAddress`",
        "KubeadmControlPlane(Template), KubeadmConfig(Template): `clusterConfiguration.{controllerManager,scheduler}.extraArgs` (map and list forms)",
        "ConfigMap: kubeadm ClusterConfiguration documents in any data value (e.g. kube-system/kubeadm-config)",
        "Pods and workloads: `--bind-address` of containers running kube-scheduler / kube-controller-manager (a missing flag is a violation)",
    ],
};

/** Human-readable list of what the policy looks at (for "not applicable" notes). */
export const COVERED_RESOURCES =
    "EKS Anywhere Cluster, Cluster API KubeadmControlPlane(Template) / KubeadmConfig(Template), " +
    "ConfigMaps holding a kubeadm ClusterConfiguration, and Pods and workloads with pod templates";
export const NOT_APPLICABLE = `only ${COVERED_RESOURCES} can set the kube-scheduler / kube-controller-manager bind address`;

/** A place that sets the bind address explicitly. */
interface ExplicitSetting {
    readonly state: "set";
    readonly component: Component;
    readonly path: string;
    readonly value: unknown;
    readonly written?: string;
    readonly note?: string;
    readonly downwardApi?: string;
    /** `--bind-address` is the last argument: nothing follows it. */
    readonly noValue?: boolean;
}

/** A command line that runs the component without --bind-address (the flag defaults to 0.0.0.0). */
interface MissingFlag {
    readonly state: "missing";
    readonly component: Component;
    readonly path: string;
    readonly program: string;
}

/**
 * A relevant value that is unknown during preview. "bind-address": the field may hold (or is) the
 * bind address; "program": the field decides whether a container runs one of the components.
 */
interface UnknownSetting {
    readonly state: "unknown";
    readonly components: readonly Component[];
    readonly path: string;
    readonly question: "bind-address" | "program";
}

type BindAddressSetting = ExplicitSetting | MissingFlag | UnknownSetting;

const unknown = (
    components: readonly Component[],
    path: string,
    question: UnknownSetting["question"],
): UnknownSetting => ({ state: "unknown", components, path, question });

const isKubeadmBindAddressKey = flagKey("bind-address");
// The EKS Anywhere design proposed `bindAddress` next to the kubeadm spelling.
const isEksaBindAddressKey: KeyMatcher = (key) => isKubeadmBindAddressKey(key) || key === "bindAddress";

/**
 * All places in one resource that decide the scheduler / controller-manager bind address, or
 * undefined when the resource type cannot say so. A missing extraArgs key is fine: kubeadm itself
 * passes --bind-address=127.0.0.1 unless extraArgs overrides it.
 */
function bindAddressSettings(type: string, props: unknown): BindAddressSetting[] | undefined {
    const workload = workloadOf(type);
    if (workload) {
        const scan = workloadCommandLines(props, workload, PROGRAMS);
        return [
            ...scan.unknowns.map((path) => unknown(COMPONENTS, path, "program")),
            ...scan.commandLines.flatMap((line) => commandLineSettings(line, workload.patch)),
        ];
    }
    const extraArgs = (
        root: unknown,
        path: (string | number)[],
        component: Component,
        matches: KeyMatcher,
        render: Render,
    ): BindAddressSetting[] =>
        extraArgValues(root, path, matches, render).map((found) =>
            found.state === "unknown"
                ? unknown([component], found.path, "bind-address")
                : { state: "set", component, path: found.path, value: found.value },
        );
    if (isKind(type, EKSA_CLUSTER)) {
        const base = ["spec", "controlPlaneConfiguration"];
        return [
            ...extraArgs(
                props,
                [...base, "controllerManagerExtraArgs"],
                "kube-controller-manager",
                isEksaBindAddressKey,
                formatPath,
            ),
            ...extraArgs(props, [...base, "schedulerExtraArgs"], "kube-scheduler", isEksaBindAddressKey, formatPath),
        ];
    }
    const scan = clusterConfigurations(type, props);
    if (!scan) {
        return undefined;
    }
    return [
        ...scan.unknowns.map((path) => unknown(COMPONENTS, path, "bind-address")),
        ...scan.documents.flatMap(({ document, render }) => [
            ...extraArgs(
                document,
                ["controllerManager", "extraArgs"],
                "kube-controller-manager",
                isKubeadmBindAddressKey,
                render,
            ),
            ...extraArgs(document, ["scheduler", "extraArgs"], "kube-scheduler", isKubeadmBindAddressKey, render),
        ]),
    ];
}

function commandLineSettings(line: CommandLine, patch: boolean): BindAddressSetting[] {
    const component = line.program.name as Component;
    const values = flagValues(line, "bind-address");
    const out: BindAddressSetting[] = values.map((v) =>
        v.state === "unknown" ? unknown([component], v.path, "bind-address") : { ...v, component },
    );
    // A patch's missing flag may be set on the object already.
    if (values.length === 0 && !patch) {
        out.push({ state: "missing", component, path: formatPath(line.containerPath), program: line.identifiedBy });
    }
    return out;
}

/** Unknowns found twice at the same field (e.g. both components) become one entry. */
function mergeUnknowns(settings: BindAddressSetting[]): BindAddressSetting[] {
    const out: BindAddressSetting[] = [];
    const byKey = new Map<string, number>();
    for (const setting of settings) {
        if (setting.state !== "unknown") {
            out.push(setting);
            continue;
        }
        const key = `${setting.question} ${setting.path}`;
        const index = byKey.get(key);
        if (index === undefined) {
            byKey.set(key, out.length);
            out.push(setting);
        } else {
            const previous = out[index] as UnknownSetting;
            out[index] = {
                ...previous,
                components: COMPONENTS.filter((c) => previous.components.includes(c) || setting.components.includes(c)),
            };
        }
    }
    return out;
}

/**
 * Assesses one resource as Pulumi registers it (type token, Pulumi resource name, input props with
 * UNKNOWN for values unknown during preview). Undefined for types that cannot set the bind address.
 */
export function assessBindAddress(type: string, pulumiName: string, props: unknown): Assessment | undefined {
    const settings = bindAddressSettings(type, props);
    if (!settings) {
        return undefined;
    }
    const resource = describeResource(type, pulumiName, props);
    const violations: string[] = [];
    const unknowns: string[] = [];
    for (const setting of mergeUnknowns(settings)) {
        if (setting.state === "unknown") {
            unknowns.push(bindAddressUnknownMessage(resource, setting));
        } else {
            const message = violationMessage(resource, setting);
            if (message) {
                violations.push(message);
            }
        }
    }
    return { violations, unknowns };
}

function remedy(component: Component): string {
    return (
        `Keep ${component} on --bind-address=127.0.0.1 (${CIS_RECOMMENDATION[component]}) and expose its metrics ` +
        `through the eksa-metrics stack (host-network proxy with token authentication) instead.`
    );
}

/**
 * What kube-scheduler and kube-controller-manager do with their --bind-address, from their flag
 * definitions (Kubernetes v1.34 cmd/kube-scheduler/app/options/options.go and
 * cmd/kube-controller-manager/app/options/options.go take k8s.io/apiserver's SecureServingOptions,
 * pkg/server/options/serving.go):
 * - the flag is pflag's IPVar (net.ParseIP of the trimmed text), default 0.0.0.0, and the listener is
 *   net.Listen("tcp", "<address>:<port>"): Go opens the unspecified address dual-stack, so 0.0.0.0 and ::
 *   both mean every interface of both families;
 * - an empty value: pflag v1.0.6 and later (Kubernetes 1.34 and later) ignore it (ip.go: `if s == "" { return nil }`),
 *   keeping the default 0.0.0.0, as the flag's help says ("If blank ..., all interfaces"); pflag v1.0.5
 *   (Kubernetes 1.33 and older) refuses it: `failed to parse IP: ""`;
 * - a flag with no value after it: "flag needs an argument";
 * - anything net.ParseIP does not read (a host name, "0", brackets, a zone) stops the component at start.
 */
export const ALL_INTERFACES = "every interface, IPv4 and IPv6 alike (Go opens the unspecified address dual-stack)";

/** Whether Go's net.ParseIP (pflag's IP flag) reads the text. */
const goParsesIP = (text: string) => isIP(text) !== 0 && !text.includes("%") && !/(^|\.)0\d/.test(text);

export function violationMessage(resource: string, setting: ExplicitSetting | MissingFlag): string | undefined {
    const { component } = setting;
    if (setting.state === "missing") {
        return (
            `${component} would listen on all interfaces: ${resource} runs ${component} in ${setting.path} ` +
            `(${setting.program}) without --bind-address, which defaults to 0.0.0.0, so ${component} listens on ` +
            `${ALL_INTERFACES}. Add --bind-address=127.0.0.1 to ${setting.path}.command or .args. ${remedy(component)}`
        );
    }
    if (setting.downwardApi) {
        return undefined; // one pod/node address, chosen at run time
    }
    const field = setting.written !== undefined ? `${JSON.stringify(setting.written)}` : describeValue(setting.value);
    const how = setting.note ? ` (${setting.note})` : "";
    const sets = `${resource} sets ${setting.path} = ${field}${how}`;
    if (setting.noValue) {
        return (
            `${component} bind address is not an IP address: ${sets}; no value follows --bind-address, so ` +
            `${component} refuses to start ("flag needs an argument"). ${remedy(component)}`
        );
    }
    // YAML `bind-address:` (null) reaches the command line as an empty value, like "".
    if (setting.value === null || (typeof setting.value === "string" && setting.value.trim() === "")) {
        return (
            `${component} would listen on all interfaces: ${sets}; an empty --bind-address keeps the default 0.0.0.0, so ` +
            `from Kubernetes 1.34 ${component} listens on ${ALL_INTERFACES} (pflag 1.0.6 and later ignore an empty IP flag), ` +
            `and Kubernetes 1.33 and older refuse to start ("failed to parse IP"). ${remedy(component)}`
        );
    }
    const verdict = classifyBindAddress(setting.value);
    if (verdict.addressClass === "specific") {
        return undefined;
    }
    if (verdict.addressClass === "all-interfaces") {
        const does = goParsesIP(verdict.text)
            ? `${component} listens on ${ALL_INTERFACES}`
            : `${component} refuses to start with this notation ("failed to parse IP": Go's net.ParseIP reads ` +
              `only the usual notations), and written as ${verdict.canonical} it listens on ${ALL_INTERFACES}`;
        return (
            `${component} would listen on all interfaces: ${sets}; ` +
            `${unspecified(verdict.text, verdict.canonical!, verdict.family)}: ${does}. ${remedy(component)}`
        );
    }
    const variable =
        typeof setting.value === "string" && setting.value.includes("$")
            ? "; it contains a variable this policy cannot resolve"
            : "";
    return (
        `${component} bind address is not an IP address: ${sets}; ` +
        `${describeValue(setting.value)} is ${verdict.reason}${variable}. ${component} refuses to start with it ` +
        `(--bind-address is pflag's IP flag: "failed to parse IP"). ${remedy(component)}`
    );
}

function unspecified(text: string, canonical: string, family: 4 | 6 | undefined): string {
    const what =
        canonical === "::ffff:0.0.0.0" ? "the IPv4-mapped unspecified address" : `the unspecified IPv${family} address`;
    return text === canonical ? `${text} is ${what}` : `${JSON.stringify(text)} is ${what} ${canonical}`;
}

function bindAddressUnknownMessage(resource: string, setting: UnknownSetting): string {
    const components = setting.components.join(" / ");
    const cis = setting.components
        .map((c) => CIS_RECOMMENDATION[c].replace("CIS Kubernetes Benchmark ", ""))
        .join(", ");
    const what =
        setting.question === "program"
            ? `whether it runs ${components} (and with which --bind-address)`
            : `the ${components} bind address`;
    return unknownMessage(
        resource,
        setting.path,
        what,
        `CIS Kubernetes Benchmark ${cis}: keep --bind-address=127.0.0.1`,
    );
}

function describeValue(value: unknown): string {
    if (value === UNKNOWN) {
        return "(unknown)";
    }
    return typeof value === "string"
        ? JSON.stringify(value)
        : value === undefined
          ? "(nothing)"
          : (JSON.stringify(value) ?? String(value));
}

export const controlPlaneMetricsNotOnAllInterfaces: ResourceValidationPolicy = {
    name: NOT_ON_ALL_INTERFACES,
    displayName: "kube-scheduler and kube-controller-manager stay off all interfaces",
    description:
        "kube-scheduler and kube-controller-manager must not bind all interfaces (0.0.0.0, :: and other " +
        "notations of the unspecified address), must not run without --bind-address (it defaults to 0.0.0.0), " +
        "and must be given an IP address (CIS Kubernetes Benchmark 1.3.7 / 1.4.2). Checked in EKS Anywhere " +
        "Clusters, Cluster API kubeadm resources, kubeadm ClusterConfigurations in ConfigMaps, and Pods and " +
        "workloads that run the components. Their metrics are exposed by the eksa-metrics stack instead.",
    severity: "high",
    remediationSteps:
        "Remove the bind-address override or set it to 127.0.0.1, add --bind-address=127.0.0.1 to command " +
        "lines that run the components, and scrape their metrics through the eksa-metrics proxy DaemonSet.",
    // No enforcementLevel here: the pack's default (mandatory) applies unless configured otherwise.
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        for (const message of assessOrNotApplicable(args, assessBindAddress, undefined, NOT_APPLICABLE).violations) {
            reportViolation(message);
        }
    },
};
