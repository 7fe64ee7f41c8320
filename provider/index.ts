/**
 * The plugin's entry point (package.json main, compiled to dist/provider/index.js): the Node language host
 * runs it for `pulumi package get-schema`, `pulumi package add` and programs that list this folder under
 * `packages:`; it serves MetricsStackProvider over gRPC.
 */
import { main } from "@pulumi/pulumi/provider";
import { MetricsStackProvider } from "./schema";

main(new MetricsStackProvider(), process.argv.slice(2)).catch((err: Error) => {
    console.error(err);
    process.exit(1);
});
