/**
 * The program under the real Pulumi CLI and Node.js language host (built by toolchain/setup.sh):
 * a bad stack config stops `pulumi preview` before any resource is registered, with every
 * problem named by its config key. (Runs in the sandbox, with a file backend in its own TMPDIR.)
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO, run } from "./cluster";

describe("the program under the real Pulumi CLI", function () {
    this.timeout(300_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eksa-cli-"));
    const configFile = path.join(dir, "Pulumi.cli-test.yaml");
    const env = { ...process.env, PULUMI_BACKEND_URL: `file://${dir}`, PULUMI_CONFIG_PASSPHRASE: "e2e-test-passphrase" };
    const pulumi = (...args: string[]) => run(["pulumi", ...args, "--non-interactive"], { env });

    before(async () => {
        // Made from a copy of Pulumi.yaml, so the stack's config file lands in `dir`, not in the repo.
        fs.copyFileSync(path.join(REPO, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
        const init = await run(["pulumi", "stack", "init", "cli-test", "--non-interactive"], { env, cwd: dir });
        assert.equal(init.code, 0, init.stderr);
    });

    it("stops preview on bad config, naming each key and the fix, with nothing registered", async () => {
        for (const [key, value] of [["eksa-metrics:healthPort", "10257"], ["eksa-metrics:colour", "blue"], ["eksa-metrics:namespace", "Not_Valid"]]) {
            const set = await pulumi("config", "set", key, value, "--stack", "cli-test", "--config-file", configFile);
            assert.equal(set.code, 0, set.stderr);
        }
        const set = await pulumi("config", "set", "--secret", "eksa-metrics:kubeconfig", "kind: Config\n", "--stack", "cli-test", "--config-file", configFile);
        assert.equal(set.code, 0, set.stderr);
        const preview = await pulumi("preview", "--stack", "cli-test", "--config-file", configFile);
        const output = preview.stdout + preview.stderr;
        assert.notEqual(preview.code, 0, output);
        assert.match(output, /error: invalid eksa-metrics configuration:/);
        assert.match(output, /- eksa-metrics:colour: is not a setting of this program\. Known keys: kubeconfig, components/);
        assert.match(output, /- eksa-metrics:healthPort: 10257 is the metrics port of kube-controller-manager\. Choose a free port/);
        assert.match(output, /- eksa-metrics:namespace: "Not_Valid" is not a valid namespace name/);
        assert.match(output, /- eksa-metrics:kubeconfig: has no usable current-context\. Set the cluster's kubeconfig with: pulumi config set --secret/);
        // Only the stack itself was about to be created: no provider, no Kubernetes object, no command.
        assert.match(output, /\+ 1 to create/);
        assert.doesNotMatch(output, /kubernetes:|command:local/);
        assert.doesNotMatch(output, /at Object\.|at Module\./, "a plain list of problems, not a stack trace");
    });
});
