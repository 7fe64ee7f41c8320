/**
 * MetricsStack: everything one cluster needs so Prometheus can scrape kube-controller-manager,
 * kube-scheduler, kube-proxy and etcd without rebinding them off 127.0.0.1 — a host-network proxy
 * DaemonSet per node role, its TLS, the metrics-reader RBAC and a verification on every change.
 * Pass the cluster's k8s.Provider through `opts.providers`; children inherit it.
 */
import * as k8s from "@pulumi/kubernetes";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { alertRuleGroups, AlertRulesInput, renderAlertRules } from "./alertRules";
import { componentsFor, NODE_ROLES, NodeRole } from "../core/catalogue";
import { controllerTargets } from "../config/controllers";
import { HAPROXY_CONFIG_FILE, HAPROXY_PEM_FILE, renderHaproxyConfig } from "./haproxy";
import { PROXY_APP_LABEL, STACK_LABEL, stackLabelValue } from "../core/labels";
import { DEFAULT_GATE_RESOURCES, DEFAULT_PROXY_RESOURCES, proxyPodTemplate } from "./proxyPod";
import { registerOperatorResources } from "./operatorResources";
import { renderScrapeConfigs } from "./scrapeConfig";
import {
    MetricsStackArgs,
    ReaderSubject,
    resolveSettings,
    Settings,
    SettingsError,
    UNBOUND_SERVICE_ACCOUNT,
} from "../config/settings";
import { IssuedCertificate, renewalEpoch } from "./tls";
import type { VerificationPlan } from "../verify/plan";

/** The haproxy image of the EKS Anywhere docs page; override it for a private mirror. */
export const DEFAULT_PROXY_IMAGE = "public.ecr.aws/eks-anywhere/kubernetes-sigs/kind/haproxy:v0.20.0-eks-a-54";
/** The kube-rbac-proxy release the tests run (toolchain/go/kube-rbac-proxy/go.mod). */
export const DEFAULT_GATE_IMAGE = "quay.io/brancz/kube-rbac-proxy:v0.19.1";
/** The curl image of the verification's pods in cluster mode. */
export const DEFAULT_VERIFY_IMAGE = "curlimages/curl:8.11.1";

export type { MetricsStackArgs };

export interface EndpointInfo {
    component: string;
    /** NODE_IP stands for each eligible node's InternalIP, POD_IP for each of a controller's pods. */
    url: string;
    nodes: "control-plane" | "all-nodes" | "external" | "controller pods";
    /** Who checks the bearer token. */
    authenticatedBy: string;
    /** For controllers: whether Prometheus verifies their serving certificate. */
    certificate?: string;
}

/** Where Prometheus finds controllers.tls.caCertificate (mount it there, like the proxy's CA). */
export const CONTROLLERS_CA_FILE = "/etc/prometheus/eksa-metrics/controllers-ca.crt";
export const PROXY_CA_FILE = "/etc/prometheus/eksa-metrics/ca.crt";

/** Paths relative to the program's directory, so the commands' inputs are the same on every machine. */
function scriptPath(...segments: string[]): string {
    return path.relative(process.cwd(), path.join(__dirname, ...segments));
}
const TS_NODE = "node --require ts-node/register/transpile-only";

function rbacSubject(reader: ReaderSubject): k8s.types.input.rbac.v1.Subject {
    return reader.kind === "ServiceAccount"
        ? { kind: reader.kind, name: reader.name, namespace: reader.namespace }
        : { kind: reader.kind, name: reader.name, apiGroup: "rbac.authorization.k8s.io" };
}

export function endpointsOf(settings: Settings): EndpointInfo[] {
    const exposed: EndpointInfo[] = settings.components.map((c) => ({
        component: c.name,
        url: `https://NODE_IP:${c.port}/metrics`,
        nodes: c.placement,
        authenticatedBy: c.authenticator === "upstream" ? c.name : "kube-rbac-proxy",
    }));
    const external: EndpointInfo[] = settings.etcd.endpoints.map((url) => ({
        component: "etcd",
        url: url.endsWith("/metrics") ? url : `${url.replace(/\/$/, "")}/metrics`,
        nodes: "external",
        authenticatedBy: "etcd client certificate",
    }));
    const certificate = settings.controllers.tls.caCertificate
        ? "pinned: controllers.tls.caCertificate"
        : "self-signed, not pinned";
    const controllers: EndpointInfo[] = controllerTargets(settings.controllers).map((c) => ({
        component: c.name,
        url: `https://POD_IP:${c.port}/metrics`,
        nodes: "controller pods",
        authenticatedBy: "controller-runtime (TokenReview + SubjectAccessReview)",
        certificate,
    }));
    return [...exposed, ...external, ...controllers];
}

export class MetricsStack extends pulumi.ComponentResource {
    /** The namespace the proxy runs in. */
    readonly namespace: pulumi.Output<string>;
    /** Where each component's metrics are served. */
    readonly endpoints: pulumi.Output<EndpointInfo[]>;
    /** The ClusterRole that grants GET /metrics; bind more readers to it. */
    readonly readerRoleName: pulumi.Output<string>;
    /** The CA that signed the proxy's serving certificate: clients pin it. */
    readonly caCertificate: pulumi.Output<string>;
    /** The name clients verify the proxy's certificate against (Prometheus: tls_config.server_name). */
    readonly tlsServerName: string;
    /** Ready-made Prometheus scrape jobs. */
    readonly scrapeConfig: pulumi.Output<string>;
    /** A Prometheus rule file (rule_files) with the stack's alerts. */
    readonly alertRules: pulumi.Output<string>;
    /** Input of `npm run verify`, to run the same check on demand. */
    readonly verificationPlan: pulumi.Output<VerificationPlan>;
    /** The verification's table; undefined when verification is off. */
    readonly verificationReport?: pulumi.Output<string>;
    readonly daemonSets: k8s.apps.v1.DaemonSet[];

    constructor(name: string, args: MetricsStackArgs, opts?: pulumi.ComponentResourceOptions) {
        // Validate before anything is registered: a bad value must not leave half a stack behind.
        const { kubeconfig, proxyImage, gateImage, proxyResources, gateResources, ...options } = args;
        const settings = resolveSettings(options);
        if (settings.verify.enabled && kubeconfig === undefined) {
            throw new SettingsError([
                "kubeconfig: is required for the verification. Pass the cluster's kubeconfig, or set verify.enabled to false",
            ]);
        }
        if (settings.replaceDocsMetricsProxy && kubeconfig === undefined) {
            throw new SettingsError([
                "kubeconfig: is required to replace the docs page's metrics-proxy. Pass the cluster's kubeconfig, or remove replaceDocsMetricsProxy",
            ]);
        }
        super("eksa-metrics:index:MetricsStack", name, {}, opts);
        const parent = { parent: this };
        // Tells this stack's objects from another stack's on the same cluster (the preflight's conflict check).
        const stackLabel = { [STACK_LABEL]: stackLabelValue(pulumi.getProject(), pulumi.getStack()) };

        const namespace = settings.createNamespace
            ? new k8s.core.v1.Namespace(
                  `${name}-namespace`,
                  {
                      metadata: {
                          name: settings.namespace,
                          // Host-network pods are outside the baseline Pod Security profile.
                          labels: { "pod-security.kubernetes.io/enforce": "privileged", ...stackLabel },
                      },
                  },
                  parent,
              ).metadata.name
            : pulumi.output(settings.namespace);

        const issued = new command.local.Command(
            `${name}-certificate`,
            {
                create: `${TS_NODE} ${scriptPath("issueCertificate.ts")}`,
                environment: { SERVER_NAME: settings.tlsServerName, VALIDITY_DAYS: String(settings.tlsValidityDays) },
                // Re-issued on the first `pulumi up` of each renewal period, well before expiry.
                triggers: [renewalEpoch(settings.tlsValidityDays)],
                logging: "none",
            },
            { ...parent, additionalSecretOutputs: ["stdout", "stderr"] },
        );
        const certificate = pulumi.secret(issued.stdout.apply((out) => JSON.parse(out) as IssuedCertificate));

        const tlsSecret = new k8s.core.v1.Secret(
            `${name}-tls`,
            {
                metadata: { namespace },
                type: "kubernetes.io/tls",
                // Immutable and auto-named: a new certificate is a new Secret, and the pods roll to it.
                immutable: true,
                stringData: {
                    "tls.crt": certificate.certificate,
                    "tls.key": certificate.privateKey,
                    "ca.crt": certificate.caCertificate,
                    [HAPROXY_PEM_FILE]: pulumi.interpolate`${certificate.certificate}${certificate.privateKey}`,
                },
            },
            parent,
        );

        const serviceAccount = new k8s.core.v1.ServiceAccount(
            `${name}-proxy`,
            {
                metadata: { namespace },
                automountServiceAccountToken: false,
            },
            parent,
        );

        // controller-runtime's SubjectAccessReview asks the same (get on the non-resource URL /metrics): one role authorises the controllers too.
        const readerRole = new k8s.rbac.v1.ClusterRole(
            `${name}-metrics-reader`,
            {
                rules: [{ nonResourceURLs: ["/metrics"], verbs: ["get"] }],
            },
            parent,
        );
        // Readers that may not exist yet cannot lend their token: the verification reads with one of its own.
        const verifier = settings.verifierServiceAccount
            ? new k8s.core.v1.ServiceAccount(
                  `${name}-verifier`,
                  {
                      metadata: { name: settings.verifierServiceAccount.name, namespace },
                      automountServiceAccountToken: false,
                  },
                  parent,
              )
            : undefined;
        // Bound to nothing on purpose: the verification proves that a valid token without the role is refused.
        const unbound = new k8s.core.v1.ServiceAccount(
            `${name}-unbound`,
            {
                metadata: { name: UNBOUND_SERVICE_ACCOUNT, namespace },
                automountServiceAccountToken: false,
            },
            parent,
        );
        const readerBinding = new k8s.rbac.v1.ClusterRoleBinding(
            `${name}-metrics-reader`,
            {
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: readerRole.metadata.name },
                subjects: [
                    ...settings.readers.map(rbacSubject),
                    ...(settings.verifierServiceAccount
                        ? [rbacSubject({ kind: "ServiceAccount", ...settings.verifierServiceAccount })]
                        : []),
                ],
            },
            parent,
        );

        // Same host ports as ours: it goes first, and only because the user said so (the preflight names it otherwise).
        const docsProxyRemoval = settings.replaceDocsMetricsProxy
            ? new command.local.Command(
                  `${name}-replace-docs-metrics-proxy`,
                  {
                      create: `${TS_NODE} ${scriptPath("..", "cluster", "replaceDocsProxy.ts")}`,
                      environment: { EKSA_METRICS_KUBECONFIG: pulumi.secret(kubeconfig!) },
                  },
                  parent,
              )
            : undefined;

        // kube-rbac-proxy asks the API server who a token belongs to and what it may do.
        const gated = settings.components.some((c) => c.authenticator === "proxy");
        const gateBinding = gated
            ? new k8s.rbac.v1.ClusterRoleBinding(
                  `${name}-token-review`,
                  {
                      roleRef: {
                          apiGroup: "rbac.authorization.k8s.io",
                          kind: "ClusterRole",
                          name: "system:auth-delegator",
                      },
                      subjects: [{ kind: "ServiceAccount", name: serviceAccount.metadata.name, namespace }],
                  },
                  parent,
              )
            : undefined;

        const images = { proxyImage: proxyImage ?? DEFAULT_PROXY_IMAGE, gateImage: gateImage ?? DEFAULT_GATE_IMAGE };
        const haproxyConfigMaps: pulumi.Output<string>[] = [];
        this.daemonSets = NODE_ROLES.flatMap((role: NodeRole) => {
            const components = componentsFor(role, settings.components);
            if (components.length === 0) {
                return [];
            }
            const fronted = components.filter((c) => c.authenticator === "upstream");
            const configMap =
                fronted.length > 0
                    ? new k8s.core.v1.ConfigMap(
                          `${name}-${role}-haproxy`,
                          {
                              metadata: { namespace },
                              // Immutable and auto-named: a config change is a new ConfigMap, so the pods roll.
                              immutable: true,
                              data: {
                                  [HAPROXY_CONFIG_FILE]: renderHaproxyConfig({
                                      components: fronted,
                                      healthPort: settings.healthPort,
                                      serverTimeoutSeconds: settings.serverTimeoutSeconds,
                                      description: `eksa-metrics proxy for ${role} nodes of stack resource ${name}`,
                                  }),
                              },
                          },
                          parent,
                      )
                    : undefined;
            if (configMap) {
                haproxyConfigMaps.push(configMap.metadata.name);
            }
            const labels = {
                "app.kubernetes.io/name": PROXY_APP_LABEL,
                "app.kubernetes.io/instance": name,
                "eksa-metrics/node-role": role,
            };
            // Not in the selector, which is immutable: stacks deployed before the label keep their DaemonSets.
            const stackLabels = { ...labels, ...stackLabel };
            return [
                new k8s.apps.v1.DaemonSet(
                    `${name}-${role}`,
                    {
                        metadata: { namespace, labels: stackLabels },
                        spec: {
                            selector: { matchLabels: labels },
                            updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
                            template: proxyPodTemplate({
                                role,
                                components,
                                settings,
                                labels: stackLabels,
                                serviceAccountName: serviceAccount.metadata.name,
                                haproxyConfigMapName: configMap?.metadata.name,
                                tlsSecretName: tlsSecret.metadata.name,
                                ...images,
                                proxyResources: proxyResources ?? DEFAULT_PROXY_RESOURCES,
                                gateResources: gateResources ?? DEFAULT_GATE_RESOURCES,
                            }),
                        },
                    },
                    {
                        ...parent,
                        dependsOn: docsProxyRemoval ? [docsProxyRemoval] : [],
                        customTimeouts: {
                            create: `${settings.rolloutTimeoutMinutes}m`,
                            update: `${settings.rolloutTimeoutMinutes}m`,
                        },
                    },
                ),
            ];
        });

        const controllers = controllerTargets(settings.controllers);
        this.namespace = namespace;
        this.endpoints = pulumi.output(endpointsOf(settings));
        this.readerRoleName = readerRole.metadata.name;
        // Public: clients pin it (`pulumi stack output caCertificate > ca.crt` must write the PEM).
        this.caCertificate = pulumi.unsecret(certificate.caCertificate);
        this.tlsServerName = settings.tlsServerName;
        this.scrapeConfig = pulumi.output(
            renderScrapeConfigs({
                components: settings.components,
                jobNames: settings.prometheus.jobNames,
                tlsServerName: settings.tlsServerName,
                nodeSelector: settings.nodeSelector,
                caFile: PROXY_CA_FILE,
                tokenFile: "/var/run/secrets/kubernetes.io/serviceaccount/token",
                controllers,
                controllerTls: settings.controllers.tls.caCertificate
                    ? { caFile: CONTROLLERS_CA_FILE, serverName: settings.controllers.tls.serverName }
                    : {},
            }),
        );
        // A certificate's end of validity is public; the rules must not read as secret.
        const alertInput = pulumi.unsecret(certificate.notAfter).apply((notAfter): AlertRulesInput => ({
            components: settings.components,
            jobNames: settings.prometheus.jobNames,
            alertForSeconds: settings.prometheus.alertForSeconds,
            certificate: { serverName: settings.tlsServerName, notAfter, validityDays: settings.tlsValidityDays },
        }));
        this.alertRules = alertInput.apply(renderAlertRules);
        if (settings.prometheusOperator.enabled) {
            registerOperatorResources(
                name,
                settings,
                {
                    readerRoleName: readerRole.metadata.name,
                    caCertificate: this.caCertificate,
                    ruleGroups: alertInput.apply(alertRuleGroups),
                    controllers,
                },
                parent,
            );
        }
        // The RBAC objects' uids: one recreated (say after an out-of-band delete and a refresh) is verified again.
        const rbacUids = pulumi.all([
            readerRole.metadata.uid,
            readerBinding.metadata.uid,
            gateBinding?.metadata.uid ?? "",
        ]);
        this.verificationPlan = pulumi
            .all([
                this.caCertificate,
                tlsSecret.metadata.name,
                pulumi.all(haproxyConfigMaps),
                pulumi.output(images),
                pulumi.output(proxyResources ?? DEFAULT_PROXY_RESOURCES),
                pulumi.output(gateResources ?? DEFAULT_GATE_RESOURCES),
                rbacUids,
            ])
            .apply(
                ([
                    caCertificate,
                    tlsSecretName,
                    configMapNames,
                    resolvedImages,
                    proxyRequirements,
                    gateRequirements,
                    uids,
                ]): VerificationPlan => ({
                    serviceAccount: settings.verify.serviceAccount ?? { name: "", namespace: "" },
                    unboundServiceAccount: { name: UNBOUND_SERVICE_ACCOUNT, namespace: settings.namespace },
                    mode: settings.verify.mode,
                    image: DEFAULT_VERIFY_IMAGE,
                    tlsServerName: settings.tlsServerName,
                    caCertificate,
                    components: settings.components.map(({ name: component, port, placement, authenticator }) => ({
                        name: component,
                        port,
                        placement,
                        authenticator,
                    })),
                    controllers,
                    // A CA is public: the plan (and the verification's environment) holds no secret.
                    controllerTls: settings.controllers.tls,
                    nodeSelector: settings.nodeSelector,
                    tolerations: settings.tolerations,
                    timeoutSeconds: settings.verify.timeoutSeconds,
                    concurrency: settings.verify.concurrency,
                    revision: JSON.stringify({
                        tlsSecretName,
                        configMapNames,
                        images: resolvedImages,
                        resources: [proxyRequirements, gateRequirements],
                        readers: settings.readers,
                        namespace: settings.namespace,
                        rbacUids: uids,
                    }),
                }),
            );

        if (settings.verify.enabled) {
            const verification = new command.local.Command(
                `${name}-verify`,
                {
                    create: `${TS_NODE} ${scriptPath("..", "verify", "main.ts")}`,
                    environment: {
                        EKSA_METRICS_VERIFY_PLAN: pulumi.jsonStringify(this.verificationPlan),
                        EKSA_METRICS_KUBECONFIG: pulumi.secret(kubeconfig!),
                    },
                    logging: "none",
                },
                {
                    ...parent,
                    additionalSecretOutputs: ["stdout", "stderr"],
                    // After the rollout (the provider awaits the DaemonSets) and the RBAC it relies on.
                    dependsOn: [
                        ...this.daemonSets,
                        readerBinding,
                        ...(gateBinding ? [gateBinding] : []),
                        unbound,
                        ...(verifier ? [verifier] : []),
                    ],
                },
            );
            // The table names nodes, addresses and status codes, never the token: readable without --show-secrets.
            this.verificationReport = pulumi.unsecret(verification.stdout);
        }

        this.registerOutputs({
            namespace: this.namespace,
            endpoints: this.endpoints,
            readerRoleName: this.readerRoleName,
            caCertificate: this.caCertificate,
            tlsServerName: this.tlsServerName,
            scrapeConfig: this.scrapeConfig,
            alertRules: this.alertRules,
            verificationPlan: this.verificationPlan,
            verificationReport: this.verificationReport,
        });
    }
}
