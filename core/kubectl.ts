/**
 * What the verification and the preflight ask the API server, through the user's own kubectl,
 * with the stack's kubeconfig in a file only this user can read.
 */
import { execFile, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ControllerTarget } from "./catalogue";
import { labelSelector } from "./labels";
import { ClusterNode, ControllerPod } from "./kubernetes";

const MAX_OUTPUT = 64 * 1024 * 1024;

const argv = (kubeconfig: string, args: string[], requestTimeoutSeconds: number) => [
    "--kubeconfig",
    kubeconfig,
    `--request-timeout=${requestTimeoutSeconds}s`,
    ...args,
];

function failure(args: string[], stderr: string, fallback: string): Error {
    return new Error(`kubectl ${args.slice(0, 2).join(" ")} failed: ${stderr.trim() || fallback}`);
}

/** `input` goes to kubectl's stdin (`create -f -`); `signal` kills it (the cluster mode, when it is stopped). */
export function kubectl(
    kubeconfig: string,
    args: string[],
    options: { input?: string; signal?: AbortSignal } = {},
): Promise<string> {
    return new Promise((resolve, reject) => {
        const child = execFile(
            "kubectl",
            argv(kubeconfig, args, 20),
            { maxBuffer: MAX_OUTPUT, signal: options.signal, killSignal: "SIGKILL" },
            (error, stdout, stderr) => {
                if (error) {
                    reject(failure(args, stderr, error.message));
                } else {
                    resolve(stdout);
                }
            },
        );
        child.stdin?.end(options.input ?? "");
    });
}

/**
 * The complete JSON objects at the start of `text` (what `kubectl get --watch --output json` prints:
 * one indented object per change, its closing brace alone on a line), and the incomplete rest.
 */
export function splitWatchedObjects(text: string): { objects: string[]; rest: string } {
    const objects: string[] = [];
    let start = 0;
    for (let end = text.indexOf("\n}", start); end >= 0; end = text.indexOf("\n}", start)) {
        const close = end + 2;
        if (close < text.length && text[close] !== "\n") {
            start = close; // a brace not alone on its line: not an object's end
            continue;
        }
        objects.push(text.slice(text.indexOf("{", 0), close).trim());
        text = text.slice(close);
        start = 0;
    }
    return { objects, rest: text };
}

/**
 * One `kubectl get ... --watch --output json` (`args`: what to get, without --watch/--output): each
 * state of the object as it changes, to `onObject`, from one process instead of one per poll. Ends
 * by itself after `requestTimeoutSeconds`; `stop()` ends it earlier. `ended` resolves when kubectl
 * exits, rejecting with its error when it failed.
 */
export function kubectlWatch(
    kubeconfig: string,
    args: string[],
    requestTimeoutSeconds: number,
    onObject: (json: string) => void,
): { stop: () => void; ended: Promise<void> } {
    const child = spawn("kubectl", argv(kubeconfig, [...args, "--watch", "--output", "json"], requestTimeoutSeconds), {
        stdio: ["ignore", "pipe", "pipe"],
    });
    let pending = "";
    let stderr = "";
    let stopped = false;
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
        const { objects, rest } = splitWatchedObjects(pending + chunk);
        pending = rest;
        for (const json of objects) {
            if (!stopped) {
                onObject(json);
            }
        }
    });
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const ended = new Promise<void>((resolve, reject) => {
        child.on("error", (err) => reject(failure(args, "", err.message)));
        child.on("close", (code) =>
            stopped || code === 0 ? resolve() : reject(failure(args, stderr, `exit status ${code}`)),
        );
    });
    return {
        stop: () => {
            stopped = true;
            child.kill("SIGKILL");
        },
        ended,
    };
}

export interface KubectlAnswer {
    status: number;
    stdout: string;
    error?: Error;
}

/**
 * The same, blocking: the preflight runs before the program registers anything, at the top level
 * of index.ts. `status` is kubectl's exit code (`auth can-i` answers "no" with 1).
 */
export function kubectlSync(kubeconfig: string, args: string[], requestTimeoutSeconds: number): KubectlAnswer {
    const result = spawnSync("kubectl", argv(kubeconfig, args, requestTimeoutSeconds), {
        encoding: "utf8",
        maxBuffer: MAX_OUTPUT,
    });
    if (result.error) {
        return { status: -1, stdout: "", error: failure(args, "", result.error.message) };
    }
    const status = result.status ?? -1;
    return {
        status,
        stdout: result.stdout,
        error: status === 0 ? undefined : failure(args, result.stderr, `exit status ${status}`),
    };
}

/** Writes a kubeconfig's text to a file in a private directory; `remove()` deletes both. */
export function privateKubeconfigFile(content: string): { file: string; remove: () => void } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eksa-metrics-kubeconfig-"));
    const file = path.join(dir, "kubeconfig");
    fs.writeFileSync(file, content, { mode: 0o600 });
    return { file, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A short-lived token for the reader, from the TokenRequest API (never stored anywhere). */
export async function requestToken(
    kubeconfig: string,
    serviceAccount: { name: string; namespace: string },
): Promise<string> {
    const token = (
        await kubectl(kubeconfig, [
            "create",
            "token",
            serviceAccount.name,
            "--namespace",
            serviceAccount.namespace,
            "--duration=10m",
        ])
    ).trim();
    if (token === "") {
        throw new Error(`TokenRequest for ${serviceAccount.namespace}/${serviceAccount.name} returned no token`);
    }
    return token;
}

interface NodeList {
    items: {
        metadata: { name: string; labels?: Record<string, string> };
        spec?: { taints?: { key: string; value?: string; effect: string }[] };
        status?: { addresses?: { type: string; address: string }[] };
    }[];
}

export function parseNodes(json: string): ClusterNode[] {
    return (JSON.parse(json) as NodeList).items.map((item) => ({
        name: item.metadata.name,
        internalIP: item.status?.addresses?.find((a) => a.type === "InternalIP")?.address,
        labels: item.metadata.labels ?? {},
        taints: item.spec?.taints ?? [],
    }));
}

export async function listNodes(kubeconfig: string): Promise<ClusterNode[]> {
    return parseNodes(await kubectl(kubeconfig, ["get", "nodes", "--output", "json"]));
}

interface PodList {
    items: {
        metadata: { name: string; namespace: string; deletionTimestamp?: string };
        status?: { podIP?: string; phase?: string };
    }[];
}

/** The pods of one controller that are running or about to; terminating ones are not its endpoint any more. */
export function parseControllerPods(controller: ControllerTarget, json: string): ControllerPod[] {
    return (JSON.parse(json) as PodList).items
        .filter(
            (item) =>
                !item.metadata.deletionTimestamp &&
                item.status?.phase !== "Succeeded" &&
                item.status?.phase !== "Failed",
        )
        .map((item) => ({
            controller: controller.name,
            namespace: item.metadata.namespace,
            name: item.metadata.name,
            podIP: item.status?.podIP || undefined,
        }));
}

export async function listControllerPods(
    kubeconfig: string,
    controllers: ControllerTarget[],
): Promise<ControllerPod[]> {
    const lists = await Promise.all(
        controllers.map(async (controller) =>
            parseControllerPods(
                controller,
                await kubectl(kubeconfig, [
                    "get",
                    "pods",
                    "--namespace",
                    controller.namespace,
                    "--selector",
                    labelSelector(controller.selector),
                    "--output",
                    "json",
                ]),
            ),
        ),
    );
    return lists.flat();
}
