/**
 * Which controllers the stack scrapes and verifies, and what the cluster says about them. Pure:
 * the settings and the Deployments the preflight lists in, the decisions out.
 */
import { CONTROLLER_CATALOGUE, ControllerEntry, ControllerTarget } from "../core/catalogue";
import { Settings } from "./settings";
import { boolFlagValue, containerCommandLines, flagValues, imageProgram, Program } from "../core/containers";

/** A Deployment as the preflight lists it. */
export interface DeploymentFact {
    namespace: string;
    name: string;
    podLabels: Record<string, string>;
    /** spec.template.spec, for the diagnostics flags. */
    podSpec?: { containers?: Record<string, unknown>[] };
}

export function targetOf(entry: ControllerEntry): ControllerTarget {
    return { name: entry.name, namespace: entry.namespace, selector: { ...entry.selector }, port: entry.port };
}

/** The controllers MetricsStack scrapes: `expect` (unset: none, the component does not read the cluster) and `extra`. */
export function controllerTargets(controllers: Settings["controllers"]): ControllerTarget[] {
    const expected = CONTROLLER_CATALOGUE.filter((c) => controllers.expect?.includes(c.name));
    return [...expected.map(targetOf), ...controllers.extra];
}

/** Whether `deployment` runs the controller: its namespace, and pod labels that include the selector. */
export function runsController(entry: ControllerEntry, deployment: DeploymentFact): boolean {
    return (
        deployment.namespace === entry.namespace &&
        Object.entries(entry.selector).every(([k, v]) => deployment.podLabels[k] === v)
    );
}

export interface ControllerPresence {
    /** Catalogue controllers that are scraped (listed, or present when `expect` is unset), with their Deployments. */
    found: { entry: ControllerEntry; deployments: DeploymentFact[] }[];
    /** Listed in `expect` but no Deployment runs them. */
    absent: ControllerEntry[];
}

/** `expect` unset: those present; otherwise those listed, split into found and absent. */
export function resolveControllerPresence(
    expect: readonly string[] | undefined,
    deployments: readonly DeploymentFact[],
): ControllerPresence {
    const found: ControllerPresence["found"] = [];
    const absent: ControllerEntry[] = [];
    for (const entry of CONTROLLER_CATALOGUE) {
        if (expect !== undefined && !expect.includes(entry.name)) {
            continue;
        }
        const own = deployments.filter((d) => runsController(entry, d));
        if (own.length > 0) {
            found.push({ entry, deployments: own });
        } else if (expect !== undefined) {
            absent.push(entry);
        }
    }
    return { found, absent };
}

/**
 * What the program passes MetricsStack as controllers.expect: the configured list, else the catalogue
 * controllers running in the cluster (none when the Deployments could not be listed).
 */
export function expectedControllers(
    expect: readonly string[] | undefined,
    deployments: readonly DeploymentFact[] | undefined,
): string[] {
    if (expect !== undefined) {
        return [...expect];
    }
    return resolveControllerPresence(undefined, deployments ?? []).found.map((f) => f.entry.name);
}

/**
 * Why a Deployment of `entry` may not serve an authenticated :8443, judged by the flags of its
 * manager container (found by the catalogue's images, as the policy pack finds it); none when fine
 * or when no container runs one of the images.
 */
export function diagnosticsConcerns(entry: ControllerEntry, deployment: DeploymentFact): string[] {
    const program: Program = { name: entry.name, executables: ["manager"], images: entry.images };
    const concerns: string[] = [];
    (deployment.podSpec?.containers ?? []).forEach((container, i) => {
        if (typeof container.image !== "string" || !imageProgram(container.image, [program])) {
            return;
        }
        for (const line of containerCommandLines(container, ["spec", "template", "spec", "containers", i], [program])
            .commandLines) {
            const insecure = boolFlagValue(line, "insecure-diagnostics");
            if (insecure?.state === "set" && insecure.value === "true") {
                concerns.push(
                    `container ${String(container.name)} runs with --insecure-diagnostics=true: plain HTTP, no token check`,
                );
            } else if (flagValues(line, "diagnostics-address").length === 0) {
                concerns.push(
                    `container ${String(container.name)} has no --diagnostics-address: a release without the diagnostics feature serves no authenticated :${entry.port}`,
                );
            }
        }
    });
    return concerns;
}
