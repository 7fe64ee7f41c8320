/**
 * Resident memory of the proxy pods' processes. The process kubelet records each container's pid
 * (and the process' start time, so a reused pid is never read) in
 * `<state dir>/pods/<ns>_<pod>/containers/<container>/pid`; haproxy runs master-worker (-W), so a
 * container's memory is that of its whole process tree.
 */
import * as fs from "fs";
import * as path from "path";

export interface ProxyContainer {
    node: string;
    pod: string;
    container: string;
}

export interface ContainerMemory extends ProxyContainer {
    /** The container's process first, then its descendants. */
    pids: number[];
    /** VmRSS: resident pages, the binary's and libraries' shared file pages included. */
    rssKiB: number;
    /** RssAnon: the private part (heap, stacks), what grows with load. */
    anonKiB: number;
}

/** Fields of /proc/<pid>/stat after the parenthesised command name (which may hold spaces). */
function statFields(pid: number): string[] | undefined {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    } catch {
        return undefined;
    }
}

/** Start time in clock ticks since boot (stat field 22), as the kubelet records it. */
function startTime(pid: number): string | undefined {
    return statFields(pid)?.[19];
}

function parentPid(pid: number): number | undefined {
    const ppid = statFields(pid)?.[1];
    return ppid === undefined ? undefined : Number(ppid);
}

function allPids(): number[] {
    return fs
        .readdirSync("/proc")
        .filter((name) => /^\d+$/.test(name))
        .map(Number);
}

/** `root` and every process below it. */
export function processTree(root: number): number[] {
    const children = new Map<number, number[]>();
    for (const pid of allPids()) {
        const ppid = parentPid(pid);
        if (ppid !== undefined) {
            children.set(ppid, [...(children.get(ppid) ?? []), pid]);
        }
    }
    const tree = [root];
    for (let i = 0; i < tree.length; i++) {
        tree.push(...(children.get(tree[i]) ?? []));
    }
    return tree;
}

/** A "Name:  123 kB" field of /proc/<pid>/status. */
export function statusKiB(pid: number, field: "VmRSS" | "RssAnon"): number {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status);
    if (!match) {
        throw new Error(`/proc/${pid}/status has no ${field} (a kernel thread or a zombie?)`);
    }
    return Number(match[1]);
}

/** The live pid the kubelet recorded for a container; undefined while it is not running (no record, or a stale one). */
export function containerPid(stateDir: string, namespace: string, c: ProxyContainer): number | undefined {
    const file = path.join(stateDir, "pods", `${namespace}_${c.pod}`, "containers", c.container, "pid");
    if (!fs.existsSync(file)) {
        return undefined;
    }
    const [pid, recordedStart] = fs.readFileSync(file, "utf8").trim().split(/\s+/);
    return startTime(Number(pid)) === recordedStart ? Number(pid) : undefined;
}

/** A container that is not running has no pids and NaN memory. */
export function measureContainer(stateDir: string, namespace: string, c: ProxyContainer): ContainerMemory {
    const pid = containerPid(stateDir, namespace, c);
    const pids = pid === undefined ? [] : processTree(pid);
    const sum = (field: "VmRSS" | "RssAnon") =>
        pids.length ? pids.reduce((total, p) => total + statusKiB(p, field), 0) : NaN;
    return { ...c, pids, rssKiB: sum("VmRSS"), anonKiB: sum("RssAnon") };
}
