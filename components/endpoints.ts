/** The endpoints output: where each component's and controller's metrics are served, and who checks the token. */
import { controllerTargets } from "../config/controllers";
import { Settings } from "../config/settings";

/** Which machines serve an endpoint. */
export const EndpointNodes = {
    ControlPlane: "control-plane",
    AllNodes: "all-nodes",
    External: "external",
    ControllerPods: "controller pods",
} as const;
export type EndpointNodes = (typeof EndpointNodes)[keyof typeof EndpointNodes];

export interface EndpointInfo {
    /** A catalogue component or a controller's name. */
    component: string;
    /** NODE_IP stands for each eligible node's InternalIP, POD_IP for each of a controller's pods. */
    url: string;
    /** Which machines serve it. */
    nodes: EndpointNodes;
    /** Who checks the bearer token. */
    authenticatedBy: string;
    /** For controllers: whether Prometheus verifies their serving certificate. */
    certificate?: string;
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
