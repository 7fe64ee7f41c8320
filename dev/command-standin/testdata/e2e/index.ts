// The program of the stand-in's end-to-end test (e2e_test.go), run by the real Pulumi CLI from a
// project file in a temporary directory. Its commands write what they did to `journal` in the
// directory given as config `dir`, so the test can tell which ran.
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";

const config = new pulumi.Config();
const dir = config.require("dir");

const probe = new command.local.Command(
    "probe",
    {
        create: `echo "create $LABEL" >> journal; echo "created $LABEL"; echo "token has $(printf %s "$TOKEN" | wc -c) bytes" >&2`,
        update: config.getBoolean("noUpdate")
            ? undefined
            : `echo "update $LABEL after $PULUMI_COMMAND_STDOUT" >> journal; echo "updated $LABEL"`,
        delete: `echo "delete $LABEL after $PULUMI_COMMAND_STDOUT" >> journal`,
        dir,
        environment: { LABEL: config.require("label"), TOKEN: config.requireSecret("token") },
        triggers: [config.require("trigger")],
        logging: "stdout",
    },
    { additionalSecretOutputs: ["stderr"] },
);

// Runs after the probe: it sees the journal the probe's create wrote.
const after = new command.local.Command(
    "after",
    {
        create: "tail -n 1 journal",
        dir,
        logging: "none",
    },
    { dependsOn: [probe] },
);

if (config.getBoolean("fail")) {
    new command.local.Command("failing", { create: "echo 'failing on purpose' >&2; exit 7" });
}

export const stdout = probe.stdout;
export const stderr = probe.stderr;
export const afterStdout = after.stdout;
