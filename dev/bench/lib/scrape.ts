/**
 * Scrapes: one `GET /metrics` timed from the request to the last byte of the body, and blocks of
 * them at a given concurrency. Each target has its own keep-alive agent, as Prometheus keeps its
 * connections to a target open between scrapes, so TLS handshakes are not what is measured.
 */
import * as http from "http";
import * as https from "https";
import type { LookupFunction } from "net";
import * as zlib from "zlib";

export type PathKind = "direct" | "proxied";

export interface Target {
    component: string;
    path: PathKind;
    url: URL;
    agent: http.Agent;
    headers: Record<string, string>;
    /** How it is reached, for the report (TLS verification, address). */
    note: string;
}

export interface Outcome {
    latencyMs: number;
    bodyBytes: number;
    /** False when the scrape had to open a connection (keep-alive should make that rare). */
    reusedConnection: boolean;
    /** Why the scrape does not count as a good one; absent when it does. */
    error?: string;
}

export interface BlockResult {
    outcomes: Outcome[];
    wallMs: number;
}

export interface ConnectOptions {
    /** PEM CA to verify the server against; absent: the server's certificate is not verified. */
    ca?: string;
    /** Resolve the URL's host name to this address instead of asking DNS. */
    resolveTo?: string;
}

export function keepAliveAgent(url: URL, maxSockets: number, connect: ConnectOptions = {}): http.Agent {
    const common = {
        keepAlive: true,
        maxSockets,
        lookup: connect.resolveTo ? fixedLookup(connect.resolveTo) : undefined,
    };
    if (url.protocol === "http:") {
        return new http.Agent(common);
    }
    return new https.Agent({ ...common, ca: connect.ca, rejectUnauthorized: connect.ca !== undefined });
}

/** A DNS answer that is always `address`, in both callback shapes net.connect may ask for. */
function fixedLookup(address: string): LookupFunction {
    return (_hostname, options, callback) => {
        if (options.all) {
            callback(null, [{ address, family: 4 }]);
        } else {
            callback(null, address, 4);
        }
    };
}

/** Enough of a body to tell what it is, and cheap to keep on every answer. */
const HEAD_BYTES = 1024;

/** The start of the body as text; a gzip body (the client asked for it) is inflated as far as its first bytes go. */
function headText(head: Buffer, contentEncoding: string | undefined): string {
    if (contentEncoding !== "gzip") {
        return head.toString("utf8");
    }
    try {
        return zlib.gunzipSync(head, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString("utf8");
    } catch (err) {
        return `(not gzip: ${(err as Error).message})`;
    }
}

/** The exposition format starts with a HELP or TYPE comment; checking the head keeps the client's CPU out of the way. */
function answerError(status: number | undefined, head: string, bodyBytes: number): string | undefined {
    if (status !== 200) {
        return `HTTP ${status}: ${JSON.stringify(head.slice(0, 60))}`;
    }
    if (bodyBytes === 0) {
        return "empty body";
    }
    return /^# (HELP|TYPE) /.test(head)
        ? undefined
        : `body is not Prometheus metrics: ${JSON.stringify(head.slice(0, 60))}`;
}

export function scrapeOnce(target: Target): Promise<Outcome> {
    const client = target.url.protocol === "https:" ? https : http;
    const started = performance.now();
    const elapsed = () => performance.now() - started;
    return new Promise((resolve) => {
        const request = client.get(target.url, { agent: target.agent, headers: target.headers }, (response) => {
            let bodyBytes = 0;
            const head: Buffer[] = [];
            response.on("data", (chunk: Buffer) => {
                if (bodyBytes < HEAD_BYTES) {
                    head.push(chunk.subarray(0, HEAD_BYTES - bodyBytes));
                }
                bodyBytes += chunk.length;
            });
            response.on("end", () => {
                const latencyMs = elapsed();
                const text = headText(Buffer.concat(head), response.headers["content-encoding"]);
                resolve({
                    latencyMs,
                    bodyBytes,
                    reusedConnection: request.reusedSocket,
                    error: answerError(response.statusCode, text, bodyBytes),
                });
            });
            response.on("error", (err) =>
                resolve({
                    latencyMs: elapsed(),
                    bodyBytes,
                    reusedConnection: request.reusedSocket,
                    error: `response: ${err.message}`,
                }),
            );
        });
        request.on("error", (err) =>
            resolve({
                latencyMs: elapsed(),
                bodyBytes: 0,
                reusedConnection: request.reusedSocket,
                error: `request: ${err.message}`,
            }),
        );
    });
}

/** `count` scrapes, at most `concurrency` in flight; the wall time gives the throughput. */
export async function scrapeBlock(target: Target, count: number, concurrency: number): Promise<BlockResult> {
    const outcomes: Outcome[] = [];
    let issued = 0;
    const worker = async () => {
        while (issued < count) {
            issued++;
            outcomes.push(await scrapeOnce(target));
        }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
    return { outcomes, wallMs: performance.now() - started };
}

/** Polls until the target answers one good scrape (a fresh proxy may still be checking its upstream). */
export async function waitUntilServing(target: Target, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: Outcome;
    do {
        last = await scrapeOnce(target);
        if (!last.error) {
            return;
        }
        await new Promise((r) => setTimeout(r, 500));
    } while (Date.now() < deadline);
    throw new Error(`${target.component} ${target.path} (${target.url}) never served metrics: ${last.error}`);
}
