/**
 * The preflight (README "Preflight") as the program and the component run it: read the cluster with the
 * kubeconfig, check (preflight.ts), say when it ran and what it found, and stop on an error, before any of
 * the stack's objects are registered. The program runs it itself, as it needs the controllers found for the
 * component's arguments; the component runs it for library users as soon as its kubeconfig is known, and
 * skips a cluster the program has checked in this run.
 */
import * as pulumi from "@pulumi/pulumi";
import { expectedControllers } from "../config/controllers";
import { Settings, SettingsError } from "../config/settings";
import { readClusterFacts } from "./clusterFacts";
import { describePlacement, preflight, StackIdentity, StackImage, unreadable } from "./preflight";

/** When the preflight runs: in the preview, at the start of `up`, or (kubeconfig unknown in the preview) deferred to `up`. */
export type PreflightMoment = "preview" | "up" | "deferred";

/** The info line that says when the preflight ran, or that it will. */
export function preflightNote(moment: PreflightMoment): string {
    switch (moment) {
        case "preview":
            return "preflight: ran during the preview (the kubeconfig is known)";
        case "up":
            return "preflight: ran at the start of `up`, before any of this stack's objects were created";
        case "deferred":
            return "preflight: the kubeconfig is unknown during this preview (an output of a resource not created yet): the preflight runs at the start of `up`, before any of this stack's objects are created";
    }
}

/** The error that stops the stack, listing every problem. */
export const PREFLIGHT_FAILED = "the cluster is not ready for this stack (preflight)";

/** Kubeconfigs whose cluster was checked in this run (by the program): the component need not check them again. */
const checkedByProgram = new Set<string>();

/** Records that the cluster of `kubeconfig` was checked in this run: by the program, or by a test about something else. */
export function checkedElsewhere(kubeconfig: string): void {
    checkedByProgram.add(kubeconfig);
}

/**
 * Reads the cluster, checks it (`images`: the stack's images known as text, against its registry mirror)
 * and logs the result; the problems and the controllers to scrape.
 */
function check(
    kubeconfig: string,
    settings: Settings,
    identity: StackIdentity,
    images: readonly StackImage[],
    resource?: pulumi.Resource,
): { errors: string[]; expect: string[] } {
    const read = readClusterFacts(kubeconfig, settings);
    const result =
        "facts" in read
            ? preflight(settings, read.facts, identity, images)
            : unreadable(settings, read.unreadable, identity);
    pulumi.log.info(preflightNote(identity.dryRun ? "preview" : "up"), resource);
    for (const line of describePlacement(result)) {
        pulumi.log.info(`preflight: ${line}`, resource);
    }
    for (const warning of result.warnings) {
        pulumi.log.warn(`preflight: ${warning}`, resource);
    }
    const deployments = "facts" in read ? read.facts.deployments : undefined;
    return { errors: result.errors, expect: expectedControllers(settings.controllers.expect, deployments) };
}

function failure(errors: string[]): string {
    return new SettingsError(errors, PREFLIGHT_FAILED).message;
}

/**
 * The program's preflight, before it registers anything: throws a RunError (its message alone is printed)
 * on a problem; returns the controllers to scrape (controllers.expect, by default those found).
 */
export function programPreflight(
    kubeconfig: string,
    settings: Settings,
    identity: StackIdentity,
    images: readonly StackImage[],
): string[] {
    const { errors, expect } = check(kubeconfig, settings, identity, images);
    if (errors.length > 0) {
        throw new pulumi.RunError(failure(errors));
    }
    checkedElsewhere(kubeconfig);
    return expect;
}

/**
 * The component's preflight for `kubeconfig` (known by now), unless the program checked that cluster
 * already: a problem is a ResourceError of the component, which fails every object waiting for it.
 */
export function componentPreflight(
    kubeconfig: string,
    settings: Settings,
    identity: StackIdentity,
    images: readonly StackImage[],
    component: pulumi.Resource,
): void {
    if (checkedByProgram.has(kubeconfig)) {
        return;
    }
    const { errors } = check(kubeconfig, settings, identity, images, component);
    if (errors.length > 0) {
        throw new pulumi.ResourceError(failure(errors), component, true);
    }
}
