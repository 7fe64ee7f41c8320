/** How every benchmark ends: with its main's exit code, or 1 and the error on stderr. */
export function runMain(main: () => Promise<number>): void {
    main().then(
        (code) => {
            process.exitCode = code;
        },
        (err: Error) => {
            process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
            process.exitCode = 1;
        },
    );
}
