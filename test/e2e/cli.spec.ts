/**
 * The program under the real Pulumi CLI and Node.js language host (built by dev/toolchain/setup.sh):
 * a bad stack config stops `pulumi preview` before any resource is registered, with every
 * problem named by its config key. (Runs in the sandbox, with a file backend in its own TMPDIR.)
 */
import { strict as assert } from "assert";
import { ProgramStack } from "../../dev/localcluster/driver";

describe("the program under the real Pulumi CLI", function () {
    this.timeout(300_000);
    const stack = new ProgramStack("cli-test");

    before(async () => {
        await stack.init("kind: Config\n", { healthPort: 10257, colour: "blue", namespace: "Not_Valid" });
    });

    it("stops preview on bad config, naming each key and the fix, with nothing registered", async () => {
        const preview = await stack.pulumi(["preview"]);
        const output = preview.stdout + preview.stderr;
        assert.notEqual(preview.code, 0, output);
        assert.match(output, /error: invalid eksa-metrics configuration:/);
        assert.match(
            output,
            /- eksa-metrics:colour: is not a setting of this program\. Known keys: kubeconfig, components/,
        );
        assert.match(
            output,
            /- eksa-metrics:healthPort: 10257 is the metrics port of kube-controller-manager\. Choose a free port/,
        );
        assert.match(output, /- eksa-metrics:namespace: "Not_Valid" is not a valid namespace name/);
        assert.match(
            output,
            /- eksa-metrics:kubeconfig: has no usable current-context\. Set the cluster's kubeconfig with: pulumi config set --secret/,
        );
        // Only the stack itself was about to be created: no provider, no Kubernetes object, no command.
        assert.match(output, /\+ 1 to create/);
        assert.doesNotMatch(output, /kubernetes:|command:local/);
        assert.doesNotMatch(output, /at Object\.|at Module\./, "a plain list of problems, not a stack trace");
    });
});
