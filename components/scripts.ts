/**
 * How the stack's commands run the product's own scripts: Node with ts-node, on a path relative to the
 * program's directory, so the commands' inputs are the same on every machine.
 */
import * as path from "path";

const TS_NODE = "node --require ts-node/register/transpile-only";

/** The command line that runs a script, given by its path from components/. */
export function scriptCommand(...segments: string[]): string {
    return `${TS_NODE} ${path.relative(process.cwd(), path.join(__dirname, ...segments))}`;
}
