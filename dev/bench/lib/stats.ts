/** Latency statistics and plain-text tables for the benchmark's output. */

export interface LatencySummary {
    count: number;
    p50Ms: number;
    p99Ms: number;
    meanMs: number;
}

/** Nearest-rank percentile (no interpolation): always a latency that was actually observed. */
export function percentile(sortedMs: readonly number[], p: number): number {
    if (sortedMs.length === 0) {
        return NaN;
    }
    const rank = Math.ceil((p / 100) * sortedMs.length);
    return sortedMs[Math.min(sortedMs.length, Math.max(1, rank)) - 1];
}

export function summarise(latenciesMs: readonly number[]): LatencySummary {
    const sorted = [...latenciesMs].sort((a, b) => a - b);
    const total = sorted.reduce((sum, ms) => sum + ms, 0);
    return {
        count: sorted.length,
        p50Ms: percentile(sorted, 50),
        p99Ms: percentile(sorted, 99),
        meanMs: sorted.length ? total / sorted.length : NaN,
    };
}

export function fixed(value: number, digits: number): string {
    return Number.isFinite(value) ? value.toFixed(digits) : "-";
}

/** Columns two spaces apart; a column whose cells are all numbers (or blank) is right-aligned. */
export function table(header: string[], rows: string[][]): string {
    const all = [header, ...rows];
    const widths = header.map((_, i) => Math.max(...all.map((row) => row[i].length)));
    const numeric = header.map((_, i) => rows.every((row) => /^([-+]?[\d.]+x?|-|)$/.test(row[i])));
    const line = (row: string[]) =>
        row
            .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
            .join("  ")
            .trimEnd();
    return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
