/**
 * The Pulumi CLI's engine events, as the runner reads them from its own `pulumi up`: the CLI sends
 * them (with `--event-log tcp://HOST:PORT`, a flag it takes only with PULUMI_DEBUG_COMMANDS=true, as
 * the Automation API runs it) to a gRPC `pulumirpc.Events` server, one stream per engine operation:
 * an `up` without `--skip-preview` sends its preview's stream, then its update's. A file event log
 * would not do: the CLI truncates it when the update starts, so the preview's summary is lost.
 *
 * `listenForEngineEvents` is that server; `foldEngineEvents` (pure) is what the runner takes from
 * the streams: the preview's summary (its result and planned changes), the update's, and the
 * stack's outputs after the update (secret outputs arrive blinded, never in clear).
 */
import * as grpc from "@grpc/grpc-js";
import { EventRequest } from "@pulumi/pulumi/proto/events_pb";

/** An engine event, the fields the runner reads (the CLI's apitype.EngineEvent as JSON). */
export interface EngineEvent {
    summaryEvent?: {
        /** The operation's planned (preview) or done (update) changes: create, update, same... */
        resourceChanges?: Record<string, number>;
        isPreview?: boolean;
        /** "succeeded" or "failed" (and "in-progress"/"not-started" in later CLIs). */
        result?: string;
    };
    resOutputsEvent?: {
        metadata?: { type?: string; new?: { outputs?: Record<string, unknown> } };
    };
    [other: string]: unknown;
}

/** A summary of one engine operation (the preview or the update). */
export interface OperationSummary {
    ok: boolean;
    result: string;
    changes: Record<string, number>;
}

/** What the runner takes from the events of one CLI command. */
export interface EngineOutcome {
    preview?: OperationSummary;
    update?: OperationSummary;
    /** The stack's outputs as the update registered them; undefined without a finished update. */
    outputs?: Record<string, unknown>;
}

const STACK_TYPE = "pulumi:pulumi:Stack";

/**
 * The streams' events (one list per engine operation, in the order the CLI sent them) folded into
 * the preview's and the update's summaries and the stack's outputs. An operation is the preview or
 * the update by its summary's `isPreview`; the outputs are the root stack's last registered ones in
 * the update's stream (a preview's may hold unknowns).
 */
export function foldEngineEvents(streams: EngineEvent[][]): EngineOutcome {
    const outcome: EngineOutcome = {};
    for (const events of streams) {
        let outputs: Record<string, unknown> | undefined;
        for (const event of events) {
            const metadata = event.resOutputsEvent?.metadata;
            if (metadata?.type === STACK_TYPE && metadata.new?.outputs) {
                outputs = metadata.new.outputs;
            }
            const summary = event.summaryEvent;
            if (summary) {
                const result = summary.result ?? "succeeded";
                const s = { ok: result === "succeeded", result, changes: summary.resourceChanges ?? {} };
                if (summary.isPreview) {
                    outcome.preview = s;
                } else {
                    outcome.update = s;
                    if (outputs) {
                        outcome.outputs = outputs;
                    }
                }
            }
        }
    }
    return outcome;
}

/**
 * A gRPC Events server on loopback for one CLI command: `address` goes to `--event-log`; each
 * stream (engine operation) is collected apart; `close()` stops the server and returns the streams.
 * `onEvent`: each event as it comes, with its stream's index.
 */
export async function listenForEngineEvents(
    onEvent: (event: EngineEvent, stream: number) => void = () => undefined,
): Promise<{ address: string; close: () => EngineEvent[][] }> {
    const streams: EngineEvent[][] = [];
    const server = new grpc.Server();
    // The service pulumirpc.Events (proto/pulumi/events.proto): a client stream of EventRequest{event: JSON}, answered by Empty.
    server.addService(
        {
            streamEvents: {
                path: "/pulumirpc.Events/StreamEvents",
                requestStream: true,
                responseStream: false,
                requestSerialize: (r: EventRequest) => Buffer.from(r.serializeBinary()),
                requestDeserialize: (bytes: Buffer) => EventRequest.deserializeBinary(new Uint8Array(bytes)),
                responseSerialize: () => Buffer.alloc(0), // google.protobuf.Empty
                responseDeserialize: () => ({}),
            },
        },
        {
            streamEvents: (call: grpc.ServerReadableStream<EventRequest, object>, done: grpc.sendUnaryData<object>) => {
                const index = streams.push([]) - 1;
                call.on("data", (request: EventRequest) => {
                    let event: EngineEvent;
                    try {
                        event = JSON.parse(request.getEvent()) as EngineEvent;
                    } catch {
                        return; // not an event: nothing the runner reads
                    }
                    streams[index].push(event);
                    onEvent(event, index);
                });
                call.on("end", () => done(null, {}));
                call.on("error", () => undefined); // the CLI went away: what arrived is kept
            },
        },
    );
    const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
            err ? reject(err) : resolve(p),
        ),
    );
    return {
        address: `tcp://127.0.0.1:${port}`,
        close: () => {
            server.forceShutdown();
            return streams;
        },
    };
}
