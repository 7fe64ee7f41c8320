/**
 * Where a command's CPU goes: samples the process tree under one process from /proc every ~100 ms and
 * sums each process's CPU (user + sys) by what it is (`kindOf`).
 *
 * A live process is read from /proc/<pid>/stat (utime + stime, all its threads). A process that exits
 * between two samples loses what it used after the last one, and one that lives less than a sample is
 * never seen; both come back through its parent: when a parent reaps a child, the kernel adds the child's
 * CPU (and what the child had reaped) to the parent's cutime + cstime. So at each sample the growth of a
 * live process's cutime + cstime, minus what its children that vanished had at their last sample, is the
 * unseen rest; it goes to the kind of the vanished child (to the first one when several vanished in the
 * same interval, to "short-lived children of <parent's kind>" when none did). Accurate to the kernel's clock
 * tick (10 ms) per process, for every process that is waited for. A process whose parent exits first is
 * adopted by init: it stays in the tree (its pid and start time) and is sampled until it ends or the
 * sampler stops, but no process of the tree waits for it, so its CPU is not in the tree's rusage (nor in
 * `/usr/bin/time`'s figure): `unwaited` lists it. What ends in the last interval with no reaper left in the
 * tree (the root's own tail) is not sampled: `/usr/bin/time`'s total minus the waited-for part of the
 * sum gives it, the accounting's error, which callers print.
 *
 * It also reads each live thread's /proc/<pid>/task/<tid>/schedstat (time run, time runnable but waiting
 * for a CPU) to split the wall time into what the tree spent running or waiting for a CPU and what it
 * spent blocked (on the cluster, the network, timers).
 */
import * as fs from "fs";
import * as path from "path";

const TICK_S = 0.01; // USER_HZ (getconf CLK_TCK) is 100 on Linux

interface Proc {
    pid: number;
    ppid: number;
    start: string;
    comm: string;
    kind: string;
    /** utime + stime, seconds, at the last sample. */
    self: number;
    /** cutime + cstime, seconds, at the last sample. */
    children: number;
    /** Its parent is not in the tree (it exited and init adopted this one): none of the tree will wait for it. */
    orphan: boolean;
    /** Per thread: run + runqueue-wait ns at the last sample. */
    sched: Map<string, [number, number]>;
}

/** One sample interval of the whole tree. */
export interface Interval {
    /** Seconds since the sampler started, at the end of the interval. */
    at: number;
    seconds: number;
    /** CPU seconds the tree used in the interval (live processes and reaped ones). */
    cpu: number;
    /** Seconds the tree's threads were runnable but waiting for a CPU. */
    runqueue: number;
    /** The kinds of the processes alive at the end of the interval. */
    alive: Set<string>;
}

export interface TreeUsage {
    /** CPU seconds per kind. */
    cpu: Map<string, number>;
    /**
     * Of those, per kind, the CPU of processes no process of the tree waited for (left to init when their
     * parent exited, or killed and never reaped): not in the root's children's rusage, so not in /usr/bin/time's.
     */
    unwaited: Map<string, number>;
    /** Processes of the tree still alive when sampling stopped. */
    lingering: number;
    intervals: Interval[];
    samples: number;
    /** The sampler's own CPU seconds (in this process: not part of the tree). */
    samplerCpu: number;
}

/** The product's scripts the stack's commands run, by a part of their path. */
const SCRIPTS: [RegExp, string][] = [
    [/issueCertificate/, "certificate script"],
    [/verify\/main/, "verification script"],
    [/replaceDocsProxy/, "docs-proxy removal script"],
];

/**
 * What a process is, from its command line and its parent's kind: the executables the Pulumi CLI starts
 * (its plugins) and what those start in turn.
 */
export function kindOf(argv: string[], parentKind: string | undefined): string {
    const exe = path.basename(argv[0] ?? "");
    switch (exe) {
        case "pulumi":
            return "pulumi CLI";
        case "pulumi-language-nodejs":
            return "language host (pulumi-language-nodejs, the program's and the pack's)";
        case "pulumi-analyzer-policy":
            return "policy analyzer (pulumi-analyzer-policy)";
        case "pulumi-resource-kubernetes":
            return "kubernetes provider";
        case "pulumi-resource-command":
            return "command provider (stand-in)";
        case "time":
            return "/usr/bin/time";
    }
    const under = parentKind ?? "";
    const interpreter = ["node", "sh", "bash", "dash"].includes(exe);
    // The CLI runs a Node policy pack through a language host of its own: `node .../run-policy-pack/index.js`.
    if (
        under.startsWith("policy pack") ||
        (under.startsWith("language host") && argv.join(" ").includes("run-policy-pack"))
    ) {
        return interpreter ? "policy pack (node)" : `policy pack's ${exe}`;
    }
    if (under.startsWith("language host") || under.startsWith("program")) {
        return interpreter ? "program (node)" : `program's ${exe}`;
    }
    if (under.startsWith("policy analyzer")) {
        return interpreter ? "policy pack (node)" : `policy pack's ${exe}`;
    }
    if (under.startsWith("command provider")) {
        const script = SCRIPTS.find(([pattern]) => pattern.test(argv.join(" ")))?.[1] ?? "other command";
        return interpreter ? `${script} (node, sh)` : `${script}'s ${exe}`;
    }
    const script = SCRIPTS.find(([, name]) => under.startsWith(name))?.[1];
    if (script) {
        return interpreter ? `${script} (node, sh)` : `${script}'s ${exe}`;
    }
    return `other: ${exe}`;
}

function readStat(pid: string): { ppid: number; start: string; comm: string; self: number; children: number } | null {
    let text: string;
    try {
        text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
        return null;
    }
    const close = text.lastIndexOf(")");
    const comm = text.slice(text.indexOf("(") + 1, close);
    // Fields after the comm, from field 3 (state): ppid is field 4, utime..cstime 14..17, starttime 22.
    const f = text
        .slice(close + 2)
        .trim()
        .split(" ");
    return {
        ppid: Number(f[1]),
        start: f[19],
        comm,
        self: (Number(f[11]) + Number(f[12])) * TICK_S,
        children: (Number(f[13]) + Number(f[14])) * TICK_S,
    };
}

function commandLine(pid: number, comm: string): string[] {
    try {
        const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
        return argv.length > 0 ? argv : [comm];
    } catch {
        return [comm];
    }
}

function readSched(pid: number): Map<string, [number, number]> {
    const threads = new Map<string, [number, number]>();
    let tids: string[];
    try {
        tids = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
        return threads;
    }
    for (const tid of tids) {
        try {
            const [run, wait] = fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ").map(Number);
            threads.set(tid, [run, wait]);
        } catch {
            // the thread ended meanwhile
        }
    }
    return threads;
}

/** Samples the tree under `rootPid` until `stop()`; `stop()` returns the usage. */
export class TreeSampler {
    private readonly procs = new Map<number, Proc>();
    private readonly cpu = new Map<string, number>();
    private readonly unwaited = new Map<string, number>();
    private readonly intervals: Interval[] = [];
    private readonly t0 = performance.now();
    private last = this.t0;
    private samples = 0;
    private timer: NodeJS.Timeout | undefined;
    private readonly startCpu = process.cpuUsage();

    /** `kind`: what a process is (kindOf unless a caller names its processes finer). */
    constructor(
        private readonly rootPid: number,
        periodMs = 100,
        private readonly kind: (argv: string[], parentKind: string | undefined) => string = kindOf,
    ) {
        this.sample();
        this.timer = setInterval(() => this.sample(), periodMs);
    }

    private addUnwaited(kind: string, seconds: number): void {
        this.unwaited.set(kind, (this.unwaited.get(kind) ?? 0) + seconds);
    }

    private add(kind: string, seconds: number): void {
        if (seconds > 0) {
            this.cpu.set(kind, (this.cpu.get(kind) ?? 0) + seconds);
        }
    }

    private sample(): void {
        const now = performance.now();
        const stats = new Map<number, NonNullable<ReturnType<typeof readStat>>>();
        for (const entry of fs.readdirSync("/proc")) {
            if (/^\d+$/.test(entry)) {
                const stat = readStat(entry);
                if (stat) {
                    stats.set(Number(entry), stat);
                }
            }
        }
        // The tree: the root, every process already in it (also when its parent exited and init adopted it)
        // and, transitively, every process whose parent is in it.
        const inTree = new Set<number>();
        if (stats.has(this.rootPid)) {
            inTree.add(this.rootPid);
        }
        for (const [pid, proc] of this.procs) {
            if (stats.get(pid)?.start === proc.start) {
                inTree.add(pid);
            }
        }
        for (let grown = true; grown;) {
            grown = false;
            for (const [pid, stat] of stats) {
                if (!inTree.has(pid) && inTree.has(stat.ppid)) {
                    inTree.add(pid);
                    grown = true;
                }
            }
        }
        let cpu = 0;
        let runqueue = 0;
        const seen = new Set<number>();
        // Parents before children, so a new child's kind can follow its parent's.
        const order = [...inTree].sort((a, b) => Number(stats.get(a)!.start) - Number(stats.get(b)!.start) || a - b);
        for (const pid of order) {
            const stat = stats.get(pid)!;
            let proc = this.procs.get(pid);
            if (proc && proc.start !== stat.start) {
                this.procs.delete(pid); // the pid was reused: the old one is gone (its parent's cutime tells the rest)
                proc = undefined;
            }
            const parentKind = this.procs.get(stat.ppid)?.kind;
            if (!proc) {
                proc = {
                    pid,
                    ppid: stat.ppid,
                    start: stat.start,
                    comm: stat.comm,
                    kind: this.kind(commandLine(pid, stat.comm), parentKind),
                    self: 0,
                    children: stat.children,
                    orphan: false,
                    sched: new Map(),
                };
                this.procs.set(pid, proc);
            } else if (proc.comm !== stat.comm) {
                proc.comm = stat.comm; // it exec'd: what it is now
                proc.kind = this.kind(commandLine(pid, stat.comm), parentKind);
            }
            const used = stat.self - proc.self;
            this.add(proc.kind, used);
            cpu += used;
            proc.self = stat.self;
            proc.ppid = stat.ppid;
            proc.orphan = pid !== this.rootPid && !inTree.has(stat.ppid);
            const sched = readSched(pid);
            for (const [tid, [, wait]] of sched) {
                runqueue += (wait - (proc.sched.get(tid)?.[1] ?? wait)) / 1e9;
            }
            proc.sched = sched;
            seen.add(pid);
        }
        // Processes gone since the last sample: their reapers' cutime grew by all they used.
        const gone = [...this.procs.values()].filter((p) => !seen.has(p.pid));
        for (const [pid, proc] of this.procs) {
            if (!seen.has(pid)) {
                continue;
            }
            const stat = stats.get(pid)!;
            const reaped = stat.children - proc.children;
            const mine = gone.filter((g) => this.reaperOf(g, seen) === pid);
            const known = mine.reduce((sum, g) => sum + g.self + g.children, 0);
            const rest = reaped - known;
            if (mine.length === 0) {
                this.add(`short-lived children of ${proc.kind}`, reaped);
                cpu += Math.max(reaped, 0);
            } else if (rest >= -TICK_S * mine.length) {
                this.add(mine[0].kind, rest);
                cpu += Math.max(rest, 0);
            } else {
                // Gone but not (all) waited for by it: killed and left to init, or still a zombie elsewhere.
                this.addUnwaited(mine[0].kind, -rest);
            }
            proc.children = stat.children;
        }
        // Gone after being left to init (their parent exited first): nothing in the tree waited for them.
        for (const g of gone) {
            if (g.pid !== this.rootPid && g.orphan) {
                this.addUnwaited(g.kind, g.self + g.children);
            }
        }
        for (const g of gone) {
            this.procs.delete(g.pid);
        }
        if (this.samples > 0) {
            this.intervals.push({
                at: (now - this.t0) / 1000,
                seconds: (now - this.last) / 1000,
                cpu,
                runqueue,
                alive: new Set([...this.procs.values()].map((p) => p.kind)),
            });
        }
        this.last = now;
        this.samples++;
    }

    /** The live process that reaps `proc`: its parent, or the parent's parent when that vanished too. */
    private reaperOf(proc: Proc, live: Set<number>): number | undefined {
        let ppid: number | undefined = proc.ppid;
        while (ppid !== undefined && !live.has(ppid)) {
            ppid = this.procs.get(ppid)?.ppid;
        }
        return ppid;
    }

    /**
     * Samples on until no process of the tree is left (at most `lingerMs`: what outlives the command, e.g. a
     * plugin's child left to init, is still its work), then returns the usage.
     */
    async stop(lingerMs = 10_000): Promise<TreeUsage> {
        const ended = (performance.now() - this.t0) / 1000;
        const until = performance.now() + lingerMs;
        while (this.procs.size > 0 && performance.now() < until) {
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        clearInterval(this.timer);
        this.sample();
        const used = process.cpuUsage(this.startCpu);
        return {
            cpu: this.cpu,
            unwaited: this.unwaited,
            lingering: this.procs.size,
            intervals: this.intervals.filter((i) => i.at - i.seconds < ended),
            samples: this.samples,
            samplerCpu: (used.user + used.system) / 1e6,
        };
    }
}
