/**
 * How the stack's commands run the product's own scripts: as the JavaScript the build made (`node
 * dist/.../x.js`, what users run), or, where the component itself runs from its TypeScript sources (the
 * tests' mocked engine), through ts-node; on a path relative to the program's directory, so the commands'
 * inputs are the same on every machine.
 */
import * as path from "path";

const COMPILED = path.extname(__filename) === ".js";
const RUNNER = COMPILED ? "node" : "node --require ts-node/register/transpile-only";

/** The command line that runs a script, given by its path from components/ (its sources' name, x.ts). */
export function scriptCommand(...segments: string[]): string {
    const script = path.join(__dirname, ...segments);
    return `${RUNNER} ${path.relative(process.cwd(), COMPILED ? script.replace(/\.ts$/, ".js") : script)}`;
}
