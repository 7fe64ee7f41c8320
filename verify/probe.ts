/**
 * One scrape with curl, as a Prometheus would make it: TLS verified against the stack's CA for the
 * proxy's server name, connected to the node's IP. The token goes to curl in a private header
 * file, never on its command line (which other users of the machine could read).
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Answer, Check, checkUrl, VerificationPlan } from "./plan";

export interface ProbeFiles {
    /** A private (0700) directory holding the CA and the header file. */
    dir: string;
    caFile: string;
    /** "Authorization: Bearer …", mode 0600. */
    authHeaderFile: string;
}

export function writeProbeFiles(dir: string, caCertificate: string, token: string): ProbeFiles {
    fs.chmodSync(dir, 0o700);
    const caFile = path.join(dir, "ca.crt");
    const authHeaderFile = path.join(dir, "authorization");
    fs.writeFileSync(caFile, caCertificate, { mode: 0o600 });
    fs.writeFileSync(authHeaderFile, `Authorization: Bearer ${token}\n`, { mode: 0o600 });
    return { dir, caFile, authHeaderFile };
}

function resolveTarget(host: string, port: number, ip: string): string {
    return `${host}:${port}:${ip.includes(":") ? `[${ip}]` : ip}`;
}

export function curlArguments(plan: Pick<VerificationPlan, "tlsServerName">, check: Check, files: ProbeFiles, headerDump: string): string[] {
    return [
        "--silent", "--show-error",
        "--max-time", "8",
        "--cacert", files.caFile,
        "--resolve", resolveTarget(plan.tlsServerName, check.port, check.nodeIP),
        "--dump-header", headerDump,
        "--output", "-",
        "--write-out", "\n%{http_code}",
        ...(check.withToken ? ["--header", `@${files.authHeaderFile}`] : []),
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

let dumpCounter = 0;

export function probe(plan: Pick<VerificationPlan, "tlsServerName">, check: Check, files: ProbeFiles): Promise<Answer> {
    const headerDump = path.join(files.dir, `headers-${process.pid}-${dumpCounter++}`);
    return new Promise((resolve) => {
        execFile("curl", curlArguments(plan, check, files, headerDump), { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
            let headers: Record<string, string> = {};
            try {
                headers = parseHeaders(fs.readFileSync(headerDump, "utf8"));
                fs.rmSync(headerDump);
            } catch {
                // no answer, no header dump
            }
            const newline = stdout.lastIndexOf("\n");
            const status = Number(stdout.slice(newline + 1));
            if (error && (status === 0 || Number.isNaN(status))) {
                resolve({ status: 0, headers, body: "", error: stderr.trim() || error.message });
                return;
            }
            resolve({ status, headers, body: stdout.slice(0, Math.max(newline, 0)) });
        });
    });
}
