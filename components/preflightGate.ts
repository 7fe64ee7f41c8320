/**
 * The component's preflight (cluster/preflightRun.ts) for library users: it runs as soon as the kubeconfig
 * is known — during the preview when it is known then, otherwise at the start of `up`, when the resource
 * that makes it (a cluster created in the same update) has produced it — and every child of the component
 * waits for it, so a problem stops the update before any of the stack's objects exist.
 */
import * as pulumi from "@pulumi/pulumi";
import { componentPreflight, preflightNote } from "../cluster/preflightRun";
import { StackIdentity, StackImage } from "../cluster/preflight";
import { Settings } from "../config/settings";

/** Whether an output's value is known in this preview (the SDK's Output carries isKnown; its typings do not). */
function isKnown(output: pulumi.Output<unknown>): Promise<boolean> {
    return (output as unknown as { isKnown: Promise<boolean> }).isKnown;
}

/**
 * What the component's children depend on: nothing once the preflight has passed (`images`: those known as
 * text, checked against the cluster's registry mirror). Without a kubeconfig
 * (the verification off) there is no cluster to read, and nothing to wait for.
 */
export function preflightGate(
    kubeconfig: pulumi.Input<string> | undefined,
    settings: Settings,
    identity: Omit<StackIdentity, "dryRun">,
    images: readonly StackImage[],
    component: pulumi.Resource,
): pulumi.Input<pulumi.Resource[]> {
    if (kubeconfig === undefined) {
        return [];
    }
    const dryRun = pulumi.runtime.isDryRun();
    const value = pulumi.output(kubeconfig);
    if (dryRun) {
        void isKnown(value).then((known) => {
            if (!known) {
                pulumi.log.info(preflightNote("deferred"), component);
            }
        });
    }
    return value.apply((text): pulumi.Resource[] => {
        componentPreflight(text, settings, { ...identity, dryRun }, images, component);
        return [];
    });
}
