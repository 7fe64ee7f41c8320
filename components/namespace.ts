/** The proxy's namespace: created by the stack (labelled for host-network pods), or an existing one. */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Settings } from "../config/settings";

/** Registers the namespace when the stack creates it; returns its name either way. */
export function registerNamespace(
    name: string,
    settings: Settings,
    stackLabel: Record<string, string>,
    opts: pulumi.CustomResourceOptions,
): pulumi.Output<string> {
    if (!settings.createNamespace) {
        return pulumi.output(settings.namespace);
    }
    return new k8s.core.v1.Namespace(
        `${name}-namespace`,
        {
            metadata: {
                name: settings.namespace,
                // Host-network pods are outside the baseline Pod Security profile.
                labels: { "pod-security.kubernetes.io/enforce": "privileged", ...stackLabel },
            },
        },
        opts,
    ).metadata.name;
}
