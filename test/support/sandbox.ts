/**
 * The proxy and end-to-end tests run in a private network and mount namespace (test/sandbox.sh):
 * the fake components take the real ports on 127.0.0.1, and the pod's files are mounted at the
 * paths the DaemonSet mounts them at, without touching the machine's own network or files.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export function assertInSandbox(): void {
    if (process.env.EKSA_METRICS_SANDBOX !== "1") {
        throw new Error("run these tests through test/sandbox.sh (a private network and mount namespace)");
    }
}

/** Makes `dir` exist without writing to the host: the nearest existing ancestor gets a private overlay. */
function privateMountPoint(dir: string): void {
    if (fs.existsSync(dir)) {
        return;
    }
    let ancestor = path.dirname(dir);
    while (!fs.existsSync(ancestor)) {
        ancestor = path.dirname(ancestor);
    }
    const layer = fs.mkdtempSync(path.join(os.tmpdir(), "overlay-")); // TMPDIR is the sandbox's own tmpfs
    fs.mkdirSync(path.join(layer, "upper"));
    fs.mkdirSync(path.join(layer, "work"));
    execFileSync("mount", [
        "-t",
        "overlay",
        "overlay",
        "-o",
        `lowerdir=${ancestor},upperdir=${layer}/upper,workdir=${layer}/work`,
        ancestor,
    ]);
    fs.mkdirSync(dir, { recursive: true });
}

/** An empty private tmpfs at `dir`, as the kubelet mounts a volume. */
export function mountScratch(dir: string): void {
    assertInSandbox();
    privateMountPoint(dir);
    execFileSync("mount", ["-t", "tmpfs", "-o", "mode=0755,size=16m", "tmpfs", dir]);
}
