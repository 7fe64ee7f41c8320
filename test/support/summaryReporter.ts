/**
 * Mocha's spec reporter, plus the closing line CI reads ("N passed, N failed, N skipped"), also
 * appended to $EKSA_METRICS_TEST_COUNTS so test/run.sh can add up its separate mocha runs.
 */
import * as fs from "fs";
import * as Mocha from "mocha";

class SummaryReporter extends Mocha.reporters.Spec {
    constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
        super(runner, options);
        runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
            const { passes, failures, pending } = runner.stats!;
            const line = `${passes} passed, ${failures} failed, ${pending} skipped`;
            process.stdout.write(`\n${line}\n`);
            if (process.env.EKSA_METRICS_TEST_COUNTS) {
                fs.appendFileSync(process.env.EKSA_METRICS_TEST_COUNTS, `${passes} ${failures} ${pending}\n`);
            }
        });
    }
}

export = SummaryReporter;
