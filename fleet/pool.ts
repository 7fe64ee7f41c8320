/**
 * Bounded concurrency: at most `limit` tasks in flight, started in the items' order, results in
 * the same order. A task's rejection is its own result's business (tasks here return results, they
 * do not throw); once `signal` is aborted no further task starts and each remaining item gets
 * `notStarted(item)`.
 */
export async function runBounded<T, R>(
    items: T[],
    limit: number,
    task: (item: T) => Promise<R>,
    notStarted: (item: T) => R,
    signal?: AbortSignal,
): Promise<R[]> {
    if (!Number.isInteger(limit) || limit < 1) {
        throw new Error(`concurrency limit ${limit} is not a positive whole number`);
    }
    const results = new Array<R>(items.length);
    let next = 0;
    const worker = async () => {
        while (next < items.length) {
            const i = next++;
            results[i] = signal?.aborted ? notStarted(items[i]) : await task(items[i]);
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
    return results;
}
