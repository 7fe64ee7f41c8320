/**
 * One scrape with curl, as a Prometheus would make it: TLS verified against the stack's CA for the
 * proxy's server name, connected to the node's IP (a controller's pod: against its CA when one is
 * pinned). A token goes to curl in a private header file, never on its command line (which other
 * users of the machine could read).
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Answer, Check, checkUrl, Credential, serverNameOf, VerificationPlan } from "./plan";

export interface ProbeFiles {
    /** A private (0700) directory holding the CAs and the header files. */
    dir: string;
    caFile: string;
    /** The controllers' CA, when controllerTls pins one. */
    controllersCaFile?: string;
    /** "Authorization: Bearer …" per credential that has a token, mode 0600. */
    authHeaderFiles: Partial<Record<Credential, string>>;
}

export function writeProbeFiles(
    dir: string,
    plan: Pick<VerificationPlan, "caCertificate" | "controllerTls">,
    tokens: { reader: string; unbound: string },
): ProbeFiles {
    fs.chmodSync(dir, 0o700);
    const write = (name: string, content: string) => {
        const file = path.join(dir, name);
        fs.writeFileSync(file, content, { mode: 0o600 });
        return file;
    };
    return {
        dir,
        caFile: write("ca.crt", plan.caCertificate),
        controllersCaFile: plan.controllerTls.caCertificate
            ? write("controllers-ca.crt", plan.controllerTls.caCertificate)
            : undefined,
        authHeaderFiles: {
            reader: write("authorization-reader", `Authorization: Bearer ${tokens.reader}\n`),
            unbound: write("authorization-unbound", `Authorization: Bearer ${tokens.unbound}\n`),
        },
    };
}

function resolveTarget(host: string, port: number, ip: string): string {
    return `${host}:${port}:${ip.includes(":") ? `[${ip}]` : ip}`;
}

/** How curl trusts the answer's certificate: the pinned CA (by name when there is one), or not at all. */
function trustArguments(
    plan: Pick<VerificationPlan, "tlsServerName" | "controllerTls">,
    check: Check,
    files: ProbeFiles,
): string[] {
    const serverName = serverNameOf(plan, check);
    const resolve = serverName ? ["--resolve", resolveTarget(serverName, check.port, check.target.address)] : [];
    switch (check.trust) {
        case "proxy":
            return ["--cacert", files.caFile, ...resolve];
        case "controllers":
            return ["--cacert", files.controllersCaFile!, ...resolve];
        case "unpinned":
            return ["--insecure"];
    }
}

export function curlArguments(
    plan: Pick<VerificationPlan, "tlsServerName" | "controllerTls">,
    check: Check,
    files: ProbeFiles,
    headerDump: string,
): string[] {
    const authHeader = files.authHeaderFiles[check.credential];
    return [
        "--silent",
        "--show-error",
        "--max-time",
        "8",
        ...trustArguments(plan, check, files),
        "--dump-header",
        headerDump,
        "--output",
        "-",
        "--write-out",
        "\n%{http_code}",
        ...(authHeader ? ["--header", `@${authHeader}`] : []),
        checkUrl(plan, check),
    ];
}

function parseHeaders(dump: string): Record<string, string> {
    const headers: Record<string, string> = {};
    for (const line of dump.split(/\r?\n/)) {
        const colon = line.indexOf(":");
        if (colon > 0) {
            headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
    }
    return headers;
}

/**
 * The answer from what curlArguments' curl left: stdout is the body, a newline and the status
 * (--write-out); `failed` when curl exited non-zero. Both modes read curl's output with it.
 */
export function curlAnswer(
    failed: boolean,
    stdout: string,
    stderr: string,
    headerDump: string,
    fallbackError: string,
): Answer {
    const headers = parseHeaders(headerDump);
    const newline = stdout.lastIndexOf("\n");
    const status = Number(stdout.slice(newline + 1));
    if (failed && (status === 0 || Number.isNaN(status))) {
        return { status: 0, headers, body: "", error: stderr.trim() || fallbackError };
    }
    return { status, headers, body: stdout.slice(0, Math.max(newline, 0)) };
}

let dumpCounter = 0;

export function probe(
    plan: Pick<VerificationPlan, "tlsServerName" | "controllerTls">,
    check: Check,
    files: ProbeFiles,
): Promise<Answer> {
    const headerDump = path.join(files.dir, `headers-${process.pid}-${dumpCounter++}`);
    return new Promise((resolve) => {
        execFile(
            "curl",
            curlArguments(plan, check, files, headerDump),
            { maxBuffer: 64 * 1024 * 1024 },
            (error, stdout, stderr) => {
                let dump = "";
                try {
                    dump = fs.readFileSync(headerDump, "utf8");
                    fs.rmSync(headerDump);
                } catch {
                    // no answer, no header dump
                }
                resolve(curlAnswer(error !== null, stdout, stderr, dump, error?.message ?? ""));
            },
        );
    });
}
