import * as assert from "assert";
import { scanForBoolFlag, scanForFlag } from "../../core/flags";

describe("core/flags: scanForFlag", () => {
    const opaque = Symbol("opaque");

    it("reads --flag=value and --flag value", () => {
        assert.deepStrictEqual(scanForFlag(["--kubeconfig=/k", "--bind-address=0.0.0.0", "--v=2"], "bind-address"), [
            { kind: "value", flagIndex: 1, valueIndex: 1, value: "0.0.0.0" },
        ]);
        assert.deepStrictEqual(scanForFlag(["--bind-address", "::", "--leader-elect"], "bind-address"), [
            { kind: "value", flagIndex: 0, valueIndex: 1, value: "::" },
        ]);
    });

    it("takes the next argument as the value whatever it looks like (as pflag does)", () => {
        assert.deepStrictEqual(scanForFlag(["--bind-address", "--v=2"], "bind-address"), [
            { kind: "value", flagIndex: 0, valueIndex: 1, value: "--v=2" },
        ]);
    });

    it("treats _ and - in flag names alike", () => {
        assert.deepStrictEqual(scanForFlag(["--bind_address=0.0.0.0"], "bind-address"), [
            { kind: "value", flagIndex: 0, valueIndex: 0, value: "0.0.0.0" },
        ]);
    });

    it("reports every occurrence, an empty value, and a flag without value", () => {
        assert.deepStrictEqual(
            scanForFlag(["--bind-address=127.0.0.1", "--bind-address=", "--bind-address"], "bind-address"),
            [
                { kind: "value", flagIndex: 0, valueIndex: 0, value: "127.0.0.1" },
                { kind: "value", flagIndex: 1, valueIndex: 1, value: "" },
                { kind: "no-value", flagIndex: 2 },
            ],
        );
    });

    it("ignores other flags, single-dash spellings and everything after --", () => {
        assert.deepStrictEqual(
            scanForFlag(
                [
                    "--bind-address-foo=0.0.0.0",
                    "--secure-bind-address=0.0.0.0",
                    "-bind-address=0.0.0.0",
                    "bind-address=0.0.0.0",
                    "--",
                    "--bind-address=0.0.0.0",
                ],
                "bind-address",
            ),
            [],
        );
    });

    it("reports non-string arguments as opaque, and an opaque value as the value", () => {
        assert.deepStrictEqual(scanForFlag(["--v=2", opaque, "--bind-address", opaque], "bind-address"), [
            { kind: "opaque", index: 1 },
            { kind: "value", flagIndex: 2, valueIndex: 3, value: opaque },
        ]);
    });
});

describe("core/flags: scanForBoolFlag", () => {
    it("reads a bare flag as true without taking the next argument, --flag=false as false, every occurrence", () => {
        assert.deepStrictEqual(
            scanForBoolFlag(
                ["--insecure-diagnostics", "--leader-elect", "--insecure_diagnostics=false"],
                "insecure-diagnostics",
            ),
            [
                { index: 0, value: "true" },
                { index: 2, value: "false" },
            ],
        );
    });

    it("stops at --, and reports non-string tokens as opaque", () => {
        const opaque = Symbol("opaque");
        assert.deepStrictEqual(scanForBoolFlag([opaque, "--", "--insecure-diagnostics"], "insecure-diagnostics"), [
            { index: 0, opaque: true },
        ]);
    });
});
