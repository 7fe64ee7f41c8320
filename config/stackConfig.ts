/**
 * Reads a stack's configuration (`eksa-metrics:<key>` in Pulumi.<stack>.yaml) into the
 * MetricsStack arguments. Pure, like settings.ts: every problem names its config key and the fix,
 * and is reported before any resource is registered.
 */
import * as yaml from "js-yaml";
import { CONFIG_KEY_NAMES, CONFIG_SCHEMA, ConfigKey, ValueKind } from "./schema";
import { MetricsStackArgs, resolveSettings, SettingsError, Settings, stackOptionsOf } from "./settings";
import { imageProblems } from "./images";

export const CONFIG_NAMESPACE = "eksa-metrics";

/** Every config key the program reads, and how its text is parsed: config/schema.ts's keys. */
export const CONFIG_KEYS = Object.fromEntries(CONFIG_KEY_NAMES.map((key) => [key, CONFIG_SCHEMA[key].type])) as Record<
    ConfigKey,
    ValueKind
>;

function parseValue(kind: ValueKind, text: string): unknown {
    switch (kind) {
        case "string":
            return text;
        case "boolean":
            if (text !== "true" && text !== "false") {
                throw new Error(`"${text}" is not true or false`);
            }
            return text === "true";
        case "integer":
            if (!/^-?\d+$/.test(text.trim())) {
                throw new Error(`"${text}" is not a whole number`);
            }
            return Number(text);
        case "object":
            try {
                return JSON.parse(text);
            } catch {
                throw new Error(
                    `is not structured config (a YAML map or list in Pulumi.<stack>.yaml, or JSON with --path/--json)`,
                );
            }
    }
}

/** Problems with a kubeconfig's text, or none. */
export function kubeconfigProblems(text: string): string[] {
    let doc: unknown;
    try {
        doc = yaml.load(text);
    } catch (err) {
        return [`is not YAML (${(err as Error).message.split("\n")[0]})`];
    }
    const config = doc as
        | {
              kind?: string;
              "current-context"?: string;
              contexts?: { name: string; context?: { cluster?: string; user?: string } }[];
              clusters?: { name: string; cluster?: { server?: string } }[];
              users?: { name: string }[];
          }
        | undefined;
    if (typeof config !== "object" || config === null || config.kind !== "Config") {
        return ["is not a kubeconfig (no kind: Config)"];
    }
    const currentName = config["current-context"];
    const context = config.contexts?.find((c) => c.name === currentName);
    if (!currentName || !context) {
        return [`has no usable current-context${currentName ? ` (context "${currentName}" is missing)` : ""}`];
    }
    const problems: string[] = [];
    const cluster = config.clusters?.find((c) => c.name === context.context?.cluster);
    if (!cluster) {
        problems.push(`context "${currentName}" names cluster "${context.context?.cluster}", which is missing`);
    } else {
        let server: URL | undefined;
        try {
            server = new URL(cluster.cluster?.server ?? "");
        } catch {
            problems.push(`cluster "${cluster.name}" has no valid server URL`);
        }
        if (server && server.protocol !== "https:") {
            problems.push(`cluster "${cluster.name}" server ${server.href} is not https`);
        }
    }
    if (!config.users?.some((u) => u.name === context.context?.user)) {
        problems.push(`context "${currentName}" names user "${context.context?.user}", which is missing`);
    }
    return problems;
}

export interface StackConfig {
    args: MetricsStackArgs;
    settings: Settings;
}

/**
 * `raw` is the stack's whole configuration as the engine hands it over (`pulumi.runtime.allConfig()`):
 * "<namespace>:<key>" to text, structured values as JSON text.
 */
export function readStackConfig(raw: Record<string, string>): StackConfig {
    const prefix = `${CONFIG_NAMESPACE}:`;
    const problems: string[] = [];
    const args: Record<string, unknown> = {};
    for (const [fullKey, text] of Object.entries(raw)) {
        if (!fullKey.startsWith(prefix)) {
            continue;
        }
        const key = fullKey.slice(prefix.length);
        const kind = (CONFIG_KEYS as Record<string, ValueKind | undefined>)[key];
        if (kind === undefined) {
            problems.push(
                `${fullKey}: is not a setting of this program. Known keys: ${Object.keys(CONFIG_KEYS).join(", ")}`,
            );
            continue;
        }
        try {
            args[key] = parseValue(kind, text);
        } catch (err) {
            problems.push(`${fullKey}: ${(err as Error).message}. Fix it with pulumi config set`);
        }
    }
    const typed = args as MetricsStackArgs;
    if (typeof typed.kubeconfig === "string") {
        problems.push(
            ...kubeconfigProblems(typed.kubeconfig).map(
                (p) =>
                    `${prefix}kubeconfig: ${p}. Set the cluster's kubeconfig with: pulumi config set --secret ${prefix}kubeconfig < kubeconfig`,
            ),
        );
    } else {
        problems.push(
            `${prefix}kubeconfig: is not set (the program deploys to that cluster). Set the cluster's kubeconfig with: pulumi config set --secret ${prefix}kubeconfig < kubeconfig`,
        );
    }
    problems.push(...imageProblems(typed, prefix));
    const options = stackOptionsOf(typed);
    let settings: Settings | undefined;
    try {
        settings = resolveSettings(options, prefix);
    } catch (err) {
        if (!(err instanceof SettingsError)) {
            throw err;
        }
        problems.push(...err.problems);
    }
    if (problems.length > 0 || settings === undefined) {
        throw new SettingsError(problems);
    }
    return { args: typed, settings };
}
