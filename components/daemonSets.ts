/**
 * The proxy DaemonSets, one per node role that has components to serve, each with the immutable haproxy
 * ConfigMap of its role's self-authenticating components; and, when the user asks for it, the command that
 * removes the EKS Anywhere docs page's metrics-proxy (same host ports) before they roll out.
 */
import * as k8s from "@pulumi/kubernetes";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { componentsFor, KUBE_RBAC_PROXY_NET, kubeRbacProxyHost, NODE_ROLES, NodeRole } from "../core/catalogue";
import { PROXY_APP_LABEL } from "../core/labels";
import { HAPROXY_CONFIG_FILE, renderHaproxyConfig } from "./haproxy";
import { proxyPodTemplate } from "./proxyPod";
import { scriptCommand } from "./scripts";
import { Settings } from "../config/settings";

type ResourceRequirements = k8s.types.input.core.v1.ResourceRequirements;

export interface ProxyDaemonSetsInput {
    namespace: pulumi.Input<string>;
    /** The stack's label, on the DaemonSets and their pods but not in the (immutable) selector. */
    stackLabel: Record<string, string>;
    serviceAccountName: pulumi.Input<string>;
    tlsSecretName: pulumi.Input<string>;
    /** What the TLS Secret changes with, known at preview (`ProxyTls.revision`). */
    tlsRevision: string;
    proxyImage: pulumi.Input<string>;
    gateImage: pulumi.Input<string>;
    proxyResources: pulumi.Input<ResourceRequirements>;
    gateResources: pulumi.Input<ResourceRequirements>;
    /** What must happen before the rollout (the docs page's proxy removal). */
    dependsOn: pulumi.Resource[];
}

export interface ProxyDaemonSets {
    daemonSets: k8s.apps.v1.DaemonSet[];
    /** The haproxy ConfigMaps' names: a proxy config change is a new name. */
    haproxyConfigMapNames: pulumi.Output<string>[];
}

/** Same host ports as ours: it goes first, and only because the user said so (the preflight names it otherwise). */
export function registerDocsProxyRemoval(
    name: string,
    settings: Settings,
    kubeconfig: pulumi.Input<string> | undefined,
    opts: pulumi.CustomResourceOptions,
): command.local.Command | undefined {
    if (!settings.replaceDocsMetricsProxy) {
        return undefined;
    }
    return new command.local.Command(
        `${name}-replace-docs-metrics-proxy`,
        {
            create: scriptCommand("..", "cluster", "replaceDocsProxy.ts"),
            environment: { EKSA_METRICS_KUBECONFIG: pulumi.secret(kubeconfig!) },
        },
        opts,
    );
}

/**
 * kube-rbac-proxy's loopback address in the pods of `role`: a function of everything their template is
 * made of (`template`), so the old and the new pod of a rolling update, which run at once on a node,
 * listen on different addresses (kube-rbac-proxy cannot share one); and of the role, as the roles'
 * pods share one loopback on the local control plane.
 */
export function kubeRbacProxyHostFor(name: string, role: NodeRole, template: unknown = {}): string {
    return kubeRbacProxyHost(JSON.stringify({ name, role, template }));
}

export function registerProxyDaemonSets(
    name: string,
    settings: Settings,
    input: ProxyDaemonSetsInput,
    opts: pulumi.CustomResourceOptions,
): ProxyDaemonSets {
    const haproxyConfigMapNames: pulumi.Output<string>[] = [];
    const daemonSets = NODE_ROLES.flatMap((role: NodeRole) => {
        const components = componentsFor(role, settings.components);
        if (components.length === 0) {
            return [];
        }
        const labels = {
            "app.kubernetes.io/name": PROXY_APP_LABEL,
            "app.kubernetes.io/instance": name,
            "eksa-metrics/node-role": role,
        };
        // Not in the selector, which is immutable: stacks deployed before the label keep their DaemonSets.
        const stackLabels = { ...labels, ...input.stackLabel };
        const gated = components.some((c) => c.authenticator === "proxy");
        const renderConfig = (host: string | undefined) =>
            renderHaproxyConfig({
                components,
                kubeRbacProxyHost: host,
                healthPort: settings.healthPort,
                serverTimeoutSeconds: settings.serverTimeoutSeconds,
                authFailureLimit: settings.authFailureLimit,
                description: `eksa-metrics proxy for ${role} nodes of stack resource ${name}`,
            });
        // What the template is made of, with a stand-in for kube-rbac-proxy's address and for the names
        // Kubernetes gives the ConfigMap and the Secret: their contents stand in for them (haproxy.cfg, the
        // TLS revision). Only a change of the template changes the address; every change of it does.
        const kubeRbacProxyHost: pulumi.Output<string | undefined> = pulumi
            .all([input.proxyImage, input.gateImage, input.proxyResources, input.gateResources])
            .apply(([proxyImage, gateImage, proxyResources, gateResources]) => {
                if (!gated) {
                    return undefined;
                }
                const standIn = `${KUBE_RBAC_PROXY_NET}0.1`;
                const pod = proxyPodTemplate({
                    role,
                    components,
                    settings,
                    labels: stackLabels,
                    serviceAccountName: "",
                    haproxyConfigMapName: "",
                    kubeRbacProxyHost: standIn,
                    tlsSecretName: "",
                    proxyImage,
                    gateImage,
                    proxyResources,
                    gateResources,
                });
                return kubeRbacProxyHostFor(name, role, {
                    pod,
                    haproxy: renderConfig(standIn),
                    tls: input.tlsRevision,
                });
            });
        const configMap = new k8s.core.v1.ConfigMap(
            `${name}-${role}-haproxy`,
            {
                metadata: { namespace: input.namespace },
                // Immutable and auto-named: a config change is a new ConfigMap, so the pods roll.
                immutable: true,
                data: {
                    [HAPROXY_CONFIG_FILE]: kubeRbacProxyHost.apply(renderConfig),
                },
            },
            opts,
        );
        haproxyConfigMapNames.push(configMap.metadata.name);
        return [
            new k8s.apps.v1.DaemonSet(
                `${name}-${role}`,
                {
                    metadata: { namespace: input.namespace, labels: stackLabels },
                    spec: {
                        selector: { matchLabels: labels },
                        // The new pod serves before the old one goes (see proxyPod.ts).
                        updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
                        template: kubeRbacProxyHost.apply((host) =>
                            proxyPodTemplate({
                                role,
                                components,
                                settings,
                                labels: stackLabels,
                                serviceAccountName: input.serviceAccountName,
                                haproxyConfigMapName: configMap.metadata.name,
                                kubeRbacProxyHost: host,
                                tlsSecretName: input.tlsSecretName,
                                proxyImage: input.proxyImage,
                                gateImage: input.gateImage,
                                proxyResources: input.proxyResources,
                                gateResources: input.gateResources,
                            }),
                        ),
                    },
                },
                {
                    ...opts,
                    dependsOn: input.dependsOn,
                    customTimeouts: {
                        create: `${settings.rolloutTimeoutMinutes}m`,
                        update: `${settings.rolloutTimeoutMinutes}m`,
                    },
                },
            ),
        ];
    });
    return { daemonSets, haproxyConfigMapNames };
}
