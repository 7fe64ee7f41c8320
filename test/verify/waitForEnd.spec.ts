/**
 * waitForEnd against a STAND-IN for kubectl (a script first on PATH, test only): a real API server
 * cannot be made to drop a watch event on demand, and one did on a loaded machine (a pod's Succeeded
 * status never reached the watch in 85 s). Each `kubectl get --watch` of the stand-in prints the pod
 * as the test says, then nothing until it is killed.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { waitForEnd } from "../../verify/clusterMode";

const pod = (phase: string) =>
    JSON.stringify({ kind: "Pod", metadata: { name: "v", namespace: "ns" }, status: { phase } }, null, 4);

describe("waitForEnd (kubectl: a stand-in that prints one state per watch, then stays silent)", function () {
    this.timeout(30_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eksa-wait-for-end-"));
    const savedPath = process.env.PATH;

    /** The phase each successive watch prints. */
    function watchesPrint(...phases: string[]): void {
        phases.forEach((phase, i) => fs.writeFileSync(path.join(dir, `state-${i}`), `${pod(phase)}\n`));
        fs.rmSync(path.join(dir, "count"), { force: true });
        fs.rmSync(path.join(dir, "pids"), { force: true });
    }

    before(() => {
        fs.writeFileSync(
            path.join(dir, "kubectl"),
            [
                "#!/bin/bash",
                "# Stand-in for kubectl (test/verify/waitForEnd.spec.ts only).",
                `cd ${JSON.stringify(dir)}`,
                "n=$(cat count 2>/dev/null || echo 0)",
                "echo $((n + 1)) > count",
                "echo $$ >> pids",
                'state=state-$n; [ -f "$state" ] || state=$(ls state-* | sort -t- -k2 -n | tail -n 1)',
                'cat "$state"',
                "exec sleep 60",
            ].join("\n"),
            { mode: 0o755 },
        );
        process.env.PATH = `${dir}:${savedPath}`;
    });

    after(() => {
        process.env.PATH = savedPath;
        fs.rmSync(dir, { recursive: true, force: true });
    });

    const watches = () => Number(fs.readFileSync(path.join(dir, "count"), "utf8"));
    const alive = () =>
        fs
            .readFileSync(path.join(dir, "pids"), "utf8")
            .split("\n")
            .filter(Boolean)
            .filter((pid) => {
                try {
                    process.kill(Number(pid), 0);
                    return true;
                } catch {
                    return false;
                }
            });

    it("sees the end that a watch missed from the fresh watch that replaces it, and leaves no kubectl running", async () => {
        watchesPrint("Running", "Succeeded");
        const started = Date.now();
        const end = await waitForEnd("kubeconfig", { namespace: "ns", name: "v" }, 60, new AbortController().signal);
        const seconds = (Date.now() - started) / 1000;
        assert.equal(end.phase, "Succeeded");
        assert.equal(watches(), 2);
        assert.ok(seconds >= 4 && seconds < 10, `seen after ${seconds} s`);
        await new Promise((r) => setTimeout(r, 200));
        assert.deepEqual(alive(), [], "kubectl processes left running");
    });

    it("still gives up at the pod's limit, naming its last state", async () => {
        watchesPrint("Running");
        await assert.rejects(
            waitForEnd("kubeconfig", { namespace: "ns", name: "v" }, 3, new AbortController().signal),
            /verification pod ns\/v did not finish within 3 s: Running/,
        );
        await new Promise((r) => setTimeout(r, 200));
        assert.deepEqual(alive(), [], "kubectl processes left running");
    });
});
