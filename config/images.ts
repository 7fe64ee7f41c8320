/**
 * The images the stack runs, one key each (their defaults in config/schema.ts), and the registry mirror
 * key (`imageRegistry`) that pulls every default one from a mirror instead, as EKS Anywhere's registry
 * mirror does. Pure.
 */
import { parseImageReference, withRegistry } from "../core/images";
import { ConfigKey, DEFAULTS } from "./schema";

/** The key that pulls every default image from a registry mirror, and the one for a registry's credentials. */
export const MIRROR_KEY: ConfigKey = "imageRegistry";
export const PULL_SECRETS_KEY: ConfigKey = "imagePullSecrets";

/** The keys of the images the stack runs: haproxy, kube-rbac-proxy and the verification's curl. */
export const IMAGE_KEYS = ["proxyImage", "gateImage", "verifyImage"] as const satisfies readonly ConfigKey[];
export type ImageKey = (typeof IMAGE_KEYS)[number];

/**
 * The image of each key: the value given for it (a string, or a Pulumi Input in the component),
 * else its default, pulled from `imageRegistry` when that is set (a valid registry prefix).
 */
export function stackImages<T>(
    given: Partial<Record<ImageKey, T>>,
    imageRegistry: string | undefined,
): Record<ImageKey, T | string> {
    const image = (key: ImageKey): T | string => {
        const value = given[key];
        if (value !== undefined) {
            return value;
        }
        return imageRegistry === undefined ? DEFAULTS[key] : withRegistry(DEFAULTS[key], imageRegistry);
    };
    return { proxyImage: image("proxyImage"), gateImage: image("gateImage"), verifyImage: image("verifyImage") };
}

/** The images a node pulls, by key, for the preflight: those known as text (an Output is not). */
export function knownImages(images: Record<ImageKey, unknown>): { key: ImageKey; image: string }[] {
    return IMAGE_KEYS.flatMap((key) =>
        typeof images[key] === "string" ? [{ key, image: images[key] as string }] : [],
    );
}

/**
 * The problems of the images given as text (an Output is checked by the pull), each naming its key
 * after `keyPrefix`: a reference a node could not pull would otherwise fail only in the rollout.
 */
export function imageProblems(given: Partial<Record<ImageKey, unknown>>, keyPrefix = ""): string[] {
    return IMAGE_KEYS.flatMap((key) => {
        const value = given[key];
        if (value === undefined || (typeof value === "object" && value !== null)) {
            return [];
        }
        const parsed = typeof value === "string" ? parseImageReference(value) : { invalid: "is not text" };
        return "invalid" in parsed
            ? [
                  `${keyPrefix}${key}: ${JSON.stringify(value)} is not an image reference (${parsed.invalid}). Give it as a node pulls it, e.g. ${DEFAULTS[key]}`,
              ]
            : [];
    });
}
