/**
 * The proxy tests run in a private network and mount namespace (test/proxy/sandbox.sh): the fake
 * components take the real ports on 127.0.0.1, and the pod's files are mounted at the paths the
 * DaemonSet mounts them at, without touching the machine's own network or files.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";

export function assertInSandbox(): void {
    if (process.env.EKSA_METRICS_PROXY_SANDBOX !== "1") {
        throw new Error("run the proxy tests through test/proxy/sandbox.sh (a private network and mount namespace)");
    }
}

/** An empty private tmpfs at `dir`, as the kubelet mounts a volume. */
export function mountScratch(dir: string): void {
    assertInSandbox();
    fs.mkdirSync(dir, { recursive: true });
    execFileSync("mount", ["-t", "tmpfs", "-o", "mode=0755,size=16m", "tmpfs", dir]);
}
