/**
 * MetricsStack: everything one cluster needs so Prometheus can scrape kube-controller-manager,
 * kube-scheduler, kube-proxy and etcd without rebinding them off 127.0.0.1 — a host-network proxy
 * DaemonSet per node role, its TLS, the metrics-reader RBAC and a verification on every change.
 * Pass the cluster's k8s.Provider through `opts.providers`; children inherit it.
 * The constructor only wires: each step registers its objects in a module of its own.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { imageProblems, knownImages, stackImages } from "../config/images";
import { STACK_LABEL, stackLabelValue } from "../core/labels";
import { MetricsStackArgs, resolveSettings, Settings, SettingsError, stackOptionsOf } from "../config/settings";
import { DEFAULTS } from "../config/schema";
import type { VerificationPlan } from "../verify/plan";
import { registerDocsProxyRemoval, registerProxyDaemonSets } from "./daemonSets";
import { EndpointInfo, endpointsOf } from "./endpoints";
import { registerNamespace } from "./namespace";
import { preflightGate } from "./preflightGate";
import { registerPrometheusObjects } from "./prometheus";
import { DEFAULT_GATE_RESOURCES, DEFAULT_PROXY_RESOURCES } from "./proxyPod";
import { registerProxyTls } from "./proxyTls";
import type { TlsForecast } from "./tlsSchedule";
import { registerRbac } from "./rbac";
import { registerVerification, verificationPlan } from "./verification";

export type { EndpointInfo, MetricsStackArgs };
export { endpointsOf };
export { CONTROLLERS_CA_FILE, PROXY_CA_FILE } from "./prometheus";

/** The haproxy image of the EKS Anywhere docs page; override it for a private mirror. */
export const DEFAULT_PROXY_IMAGE = DEFAULTS.proxyImage;
/** The kube-rbac-proxy release the tests run (toolchain/go/kube-rbac-proxy/go.mod). */
export const DEFAULT_GATE_IMAGE = DEFAULTS.gateImage;
/** The curl image of the verification's pods in cluster mode. */
export const DEFAULT_VERIFY_IMAGE = DEFAULTS.verifyImage;

/** Checks the arguments before anything is registered: a bad value must not leave half a stack behind. */
function settingsOf(args: MetricsStackArgs): Settings {
    const { kubeconfig } = args;
    const images = imageProblems(args);
    let settings: Settings;
    try {
        settings = resolveSettings(stackOptionsOf(args));
    } catch (err) {
        throw err instanceof SettingsError ? new SettingsError([...err.problems, ...images]) : err;
    }
    if (images.length > 0) {
        throw new SettingsError(images);
    }
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
    return settings;
}

export class MetricsStack extends pulumi.ComponentResource {
    /** The namespace the proxy runs in. */
    readonly namespace: pulumi.Output<string>;
    /** Where each component's metrics are served. */
    readonly endpoints: pulumi.Output<EndpointInfo[]>;
    /** The ClusterRole that grants GET /metrics; bind more readers to it. */
    readonly readerRoleName: pulumi.Output<string>;
    /** The CAs clients pin: the one that signed the proxy's serving certificate, and during a CA replacement the other. */
    readonly caCertificate: pulumi.Output<string>;
    /** When the next `pulumi up` renews the serving certificate or moves the CA, and when each expires. */
    readonly tlsRenewal: pulumi.Output<TlsForecast>;
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
    /** The proxy DaemonSets, one per node role with components to serve. */
    readonly daemonSets: k8s.apps.v1.DaemonSet[];

    constructor(name: string, args: MetricsStackArgs, opts?: pulumi.ComponentResourceOptions) {
        const settings = settingsOf(args);
        super("eksa-metrics:index:MetricsStack", name, {}, opts);
        const stackLabelText = stackLabelValue(pulumi.getProject(), pulumi.getStack());
        const { verifyImage, ...proxyImages } = stackImages(args, settings.imageRegistry);
        // Every child waits for the preflight, which runs once the kubeconfig is known (preflightGate.ts).
        const preflight = preflightGate(
            args.kubeconfig,
            settings,
            { stackLabel: stackLabelText, keyPrefix: "" },
            knownImages({ verifyImage, ...proxyImages }),
            this,
        );
        const parent = { parent: this, dependsOn: preflight };
        const images = {
            ...proxyImages,
            proxyResources: args.proxyResources ?? DEFAULT_PROXY_RESOURCES,
            gateResources: args.gateResources ?? DEFAULT_GATE_RESOURCES,
        };
        // Tells this stack's objects from another stack's on the same cluster (the preflight's conflict check).
        const stackLabel = { [STACK_LABEL]: stackLabelText };

        const namespace = registerNamespace(name, settings, stackLabel, parent);
        const tls = registerProxyTls(name, settings, namespace, parent);
        const rbac = registerRbac(name, settings, namespace, parent);
        const docsProxyRemoval = registerDocsProxyRemoval(name, settings, args.kubeconfig, parent);
        const proxy = registerProxyDaemonSets(
            name,
            settings,
            {
                namespace,
                stackLabel,
                serviceAccountName: rbac.proxyServiceAccount.metadata.name,
                tlsSecretName: tls.tlsSecret.metadata.name,
                tlsRevision: tls.revision,
                ...images,
                dependsOn: docsProxyRemoval ? [docsProxyRemoval] : [],
            },
            parent,
        );
        // Public: clients pin it (`pulumi stack output caCertificate > ca.crt` must write the PEM).
        const caCertificate = tls.caCertificate;
        const prometheus = registerPrometheusObjects(
            name,
            settings,
            {
                readerRoleName: rbac.readerRole.metadata.name,
                caCertificate,
                tlsAlertInput: tls.alertInput,
            },
            parent,
        );
        const plan = verificationPlan(settings, {
            caCertificate,
            tlsSecretName: tls.tlsSecret.metadata.name,
            haproxyConfigMapNames: proxy.haproxyConfigMapNames,
            ...images,
            verifyImage,
            rbacUids: [
                rbac.readerRole.metadata.uid,
                rbac.readerBinding.metadata.uid,
                rbac.gateBinding?.metadata.uid ?? "",
            ],
        });
        this.verificationReport = settings.verify.enabled
            ? registerVerification(
                  name,
                  plan,
                  args.kubeconfig!,
                  // After the rollout (the provider awaits the DaemonSets) and the RBAC it relies on.
                  [
                      ...proxy.daemonSets,
                      rbac.readerBinding,
                      ...(rbac.gateBinding ? [rbac.gateBinding] : []),
                      rbac.unbound,
                      ...(rbac.verifier ? [rbac.verifier] : []),
                  ],
                  parent,
              )
            : undefined;

        this.namespace = namespace;
        this.endpoints = pulumi.output(endpointsOf(settings));
        this.readerRoleName = rbac.readerRole.metadata.name;
        this.caCertificate = caCertificate;
        this.tlsRenewal = tls.renewal;
        this.tlsServerName = settings.tlsServerName;
        this.scrapeConfig = prometheus.scrapeConfig;
        this.alertRules = prometheus.alertRules;
        this.verificationPlan = plan;
        this.daemonSets = proxy.daemonSets;
        this.registerOutputs({
            namespace: this.namespace,
            endpoints: this.endpoints,
            readerRoleName: this.readerRoleName,
            caCertificate: this.caCertificate,
            tlsRenewal: this.tlsRenewal,
            tlsServerName: this.tlsServerName,
            scrapeConfig: this.scrapeConfig,
            alertRules: this.alertRules,
            verificationPlan: this.verificationPlan,
            verificationReport: this.verificationReport,
        });
    }
}
