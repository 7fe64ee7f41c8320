/** Starting and stopping the real binaries the tests run (haproxy, kube-rbac-proxy). */
import { ChildProcess, spawn } from "child_process";
import * as net from "net";

export interface Running {
    name: string;
    child: ChildProcess;
    output: () => string;
}

export function start(name: string, argv: string[], env: Record<string, string> = {}): Running {
    const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (d) => {
        output += d;
    });
    child.stderr!.on("data", (d) => {
        output += d;
    });
    return { name, child, output: () => output };
}

export async function stop(running: Running | undefined): Promise<void> {
    if (!running || running.child.exitCode !== null || running.child.signalCode !== null) {
        return;
    }
    const exited = new Promise((resolve) => running.child.once("exit", resolve));
    running.child.kill("SIGTERM");
    const timer = setTimeout(() => running.child.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(timer);
}

export function portOpen(host: string, port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect({ host, port });
        socket.once("connect", () => {
            socket.destroy();
            resolve(true);
        });
        socket.once("error", () => resolve(false));
    });
}

/** Waits until host:port accepts connections, or fails with the process's output. */
export async function waitForPort(running: Running, host: string, port: number, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        if (running.child.exitCode !== null) {
            throw new Error(`${running.name} exited with ${running.child.exitCode}:\n${running.output()}`);
        }
        if (await portOpen(host, port)) {
            return;
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${running.name} did not listen on ${host}:${port} within ${timeoutMs} ms:\n${running.output()}`);
}
