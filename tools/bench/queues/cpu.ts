import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * Where the CPU went during a measurement, read from /proc: what each kind of process used, so a
 * figure says what bounds it (the print service, PostgreSQL, NATS, the bench's own client...).
 * Linux only; elsewhere a sample is null and nothing is reported.
 */

/** Clock ticks per second of /proc's times (USER_HZ): 100 on every Linux architecture Node runs on. */
const TICKS_PER_SECOND = 100;

export interface CpuSample {
  atMs: number;
  /** /proc/stat's first line: ticks spent busy and in all, over every CPU. */
  busyTicks: number;
  totalTicks: number;
  /**
   * Each live process's utime + stime ticks, with its group (see groupOf), and its write syscalls
   * so far (/proc/<pid>/io `syscw`: write, writev and the like, every socket write among them).
   */
  byPid: Map<string, { group: string; ticks: number; writes: number }>;
}

/** What a measurement used: the machine's busy share and each group's, in percent of one CPU. */
export interface CpuUse {
  seconds: number;
  cpus: number;
  /** Percent of one CPU, so 200 is two CPUs fully busy. */
  machineBusyPercent: number;
  /** Percent of one CPU by process group, largest first; groups under 1 % left out. */
  byProcess: Record<string, number>;
  /**
   * Write syscalls by the same groups. On this kind of VM each write to a local socket wakes
   * another process and costs the writer a fifth of a millisecond, and the count moves far less
   * from run to run than CPU does. A process's writes count under its main thread's group.
   */
  writesByProcess: Record<string, number>;
}

const readText = (path: string): string | null => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
};

/**
 * A process's group: Switchyard's apps by name (`switchyard print`), the peers' workers, the
 * servers by their command, kernel threads together. This process is `bench client`: the HTTP
 * client for Switchyard, the peers' own libraries for them (submits run in it); the status reads
 * run in `bench reader` (status-reader.ts), through the same kind of client.
 */
function groupOf(pid: string, comm: string): string {
  if (Number(pid) === process.pid) return 'bench client';
  if (comm === 'node') {
    const cmdline = readText(`/proc/${pid}/cmdline`) ?? '';
    const app = /apps\/(\w+)\//.exec(cmdline)?.[1];
    if (app) return app === 'switchyard' ? 'switchyard (embedded)' : `switchyard ${app}`;
    if (cmdline.includes('peer-worker')) return 'peer worker';
    if (cmdline.includes('status-reader')) return 'bench reader';
    if (cmdline.includes('floor.bench')) return 'floor server';
    return 'node (other)';
  }
  if (comm.startsWith('kdamond')) return 'kdamond';
  if (/^(kworker|ksoftirqd|kswapd)/.test(comm)) return 'kernel threads';
  // PostgreSQL's backends and helpers, redis-server, nats-server: by command.
  return comm.split(/[\s:]/)[0] ?? comm;
}

/** A process's write syscalls so far; 0 where /proc/<pid>/io cannot be read. */
function writesOf(pid: string): number {
  const io = readText(`/proc/${pid}/io`);
  return Number(/^syscw: (\d+)$/m.exec(io ?? '')?.[1] ?? 0);
}

/** utime + stime of a /proc stat line; the command sits in parentheses and may hold spaces. */
function ticksOf(stat: string): number {
  const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(after[11]) + Number(after[12]);
}

export function sampleCpu(): CpuSample | null {
  const stat = readText('/proc/stat');
  if (stat === null) return null;
  const fields = (stat.split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: idle and iowait are the idle ones.
  const totalTicks = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
  const busyTicks = totalTicks - (fields[3] ?? 0) - (fields[4] ?? 0);
  const byPid = new Map<string, { group: string; ticks: number; writes: number }>();
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    const text = readText(`/proc/${pid}/stat`);
    if (text === null) continue;
    const comm = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
    const group = groupOf(pid, comm);
    const ticks = ticksOf(text);
    const writes = writesOf(pid);
    if (!group.startsWith('switchyard')) {
      byPid.set(pid, { group, ticks, writes });
      continue;
    }
    // Switchyard's processes by thread: the event loop, and the rest (embedded: PGlite's thread;
    // all: the garbage collector's and libuv's helpers). Thread ids are process ids too.
    const mainStat = readText(`/proc/${pid}/task/${pid}/stat`);
    const main = mainStat === null ? ticks : ticksOf(mainStat);
    byPid.set(pid, { group: `${group}, main thread`, ticks: main, writes });
    const others = group === 'switchyard (embedded)' ? 'PGlite and helper threads' : 'helper threads';
    byPid.set(`${pid}/other`, { group: `${group}, ${others}`, ticks: Math.max(0, ticks - main), writes: 0 });
  }
  return { atMs: Date.now(), busyTicks, totalTicks, byPid };
}

/**
 * The CPU used between two samples, process by process. One that ended in between loses its share
 * (a pool's idle connection closing, say: its backend's whole life must not count against the
 * window), one that started counts whole.
 */
export function cpuBetween(before: CpuSample | null, after: CpuSample | null): CpuUse | null {
  if (!before || !after || after.atMs <= before.atMs) return null;
  const seconds = (after.atMs - before.atMs) / 1000;
  const cpus = availableParallelism();
  const percent = (ticks: number): number => (100 * ticks) / TICKS_PER_SECOND / seconds;
  const ticksByGroup = new Map<string, number>();
  const writesByGroup = new Map<string, number>();
  for (const [pid, { group, ticks, writes }] of after.byPid) {
    const earlier = before.byPid.get(pid);
    // A pid seen before under another group is a new process that reuses the number.
    const same = earlier && earlier.group === group;
    ticksByGroup.set(group, (ticksByGroup.get(group) ?? 0) + Math.max(0, same ? ticks - earlier.ticks : ticks));
    writesByGroup.set(group, (writesByGroup.get(group) ?? 0) + Math.max(0, same ? writes - earlier.writes : writes));
  }
  const byProcess = [...ticksByGroup]
    .map(([group, ticks]): [string, number] => [group, percent(ticks)])
    .filter(([, value]) => value >= 1)
    .sort((a, b) => b[1] - a[1]);
  const machineBusyPercent = (100 * cpus * (after.busyTicks - before.busyTicks)) / Math.max(1, after.totalTicks - before.totalTicks);
  const writesByProcess = Object.fromEntries(byProcess.map(([group]) => [group, writesByGroup.get(group) ?? 0]));
  return { seconds, cpus, machineBusyPercent, byProcess: Object.fromEntries(byProcess), writesByProcess };
}

/** Some work's result, with the CPU the machine's processes used while it ran. */
export async function measured<T>(work: () => Promise<T>): Promise<{ result: T; cpu: CpuUse | null }> {
  const before = sampleCpu();
  const result = await work();
  return { result, cpu: cpuBetween(before, sampleCpu()) };
}

/** Milliseconds of CPU per unit of work (a job, a read) from a percent of one CPU over `seconds`. */
export const msPerUnit = (percentOfOneCpu: number, seconds: number, units: number): number =>
  units > 0 ? (percentOfOneCpu / 100) * seconds * 1000 / units : Number.NaN;

/** `cpu: machine 174 % of 200 %; switchyard print, main thread 53 % (1.83 ms/job, 3.4 writes/job), ...` */
export function describeCpu(use: CpuUse | null, units: number, unit: string): string {
  if (!use) return 'cpu: not measured (no /proc)';
  const groups = Object.entries(use.byProcess)
    .map(([group, value]) => {
      const each = msPerUnit(value, use.seconds, units);
      const writes = (use.writesByProcess[group] ?? 0) / units;
      if (!Number.isFinite(each)) return `${group} ${value.toFixed(0)} %`;
      const writing = writes > 0 ? `, ${writes.toFixed(1)} writes/${unit}` : '';
      return `${group} ${value.toFixed(0)} % (${each < 0.1 ? each.toFixed(3) : each.toFixed(2)} ms/${unit}${writing})`;
    })
    .join(', ');
  return `cpu: machine ${use.machineBusyPercent.toFixed(0)} % of ${use.cpus * 100} %; ${groups}`;
}
