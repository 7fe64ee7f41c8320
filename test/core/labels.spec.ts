import { strict as assert } from "assert";
import { stackLabelValue } from "../../core/labels";

const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

describe("stack label", () => {
    it("is <project>.<stack> when that is a valid label value", () => {
        assert.equal(stackLabelValue("eksa-metrics", "mgmt-cluster"), "eksa-metrics.mgmt-cluster");
    });

    it("makes any project and stack name a valid label value, and keeps different names apart", () => {
        const long = "x".repeat(80);
        for (const [project, stack] of [
            ["eksa-metrics", "org/team/prod"],
            ["eksa-metrics", long],
            ["-p-", "_s_"],
            ["eksa-metrics", `${long}a`],
        ]) {
            assert.match(stackLabelValue(project, stack), LABEL_VALUE, `${project}.${stack}`);
        }
        assert.notEqual(stackLabelValue("eksa-metrics", long), stackLabelValue("eksa-metrics", `${long}a`));
        assert.notEqual(stackLabelValue("eksa-metrics", "a/b"), stackLabelValue("eksa-metrics", "a-b"));
    });
});
