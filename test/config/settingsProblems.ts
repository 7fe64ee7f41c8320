import { strict as assert } from "assert";
import { SettingsError } from "../../config/settings";

/** The problems a SettingsError lists; fails the test when `validate` throws nothing or something else. */
export function settingsProblems(validate: () => unknown): string[] {
    try {
        validate();
    } catch (err) {
        assert.ok(err instanceof SettingsError, `unexpected ${err}`);
        return err.problems;
    }
    assert.fail("expected a SettingsError");
}
