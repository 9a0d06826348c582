import { msPerUnit, type CpuUse } from './cpu';
import type { BenchConfig, JobRound, ReadRound, SystemRun } from './driver';
import { spread, type Spread } from './stats';

export interface Figure {
  key: string;
  label: string;
  better: 'higher' | 'lower';
  /** One value per round. */
  values(run: SystemRun, config: BenchConfig): number[];
}

const jobRounds = (run: SystemRun, submitters: number): JobRound[] => run.jobRounds.filter((round) => round.submitters === submitters);
const reads = (run: SystemRun, pick: (round: ReadRound) => number): number[] => run.readRounds.map(pick);

export function figuresFor(config: BenchConfig): Figure[] {
  const loaded = config.loadedSubmitters;
  const light = Math.min(...config.submitterCounts);
  const latency = (submitters: number, p: 'p50' | 'p95' | 'p99'): Figure => ({
    key: `latency${p.toUpperCase()}_${submitters}`,
    label: `submit→completed ${p}, ms (${submitters} submitter${submitters === 1 ? '' : 's'})`,
    better: 'lower',
    values: (run) => jobRounds(run, submitters).map((round) => round.latencyMs[p]),
  });
  return [
    ...config.submitterCounts.map(
      (submitters): Figure => ({
        key: `submitted_${submitters}`,
        label: `jobs accepted/s, ${submitters} submitter${submitters === 1 ? '' : 's'}`,
        better: 'higher',
        values: (run) => jobRounds(run, submitters).map((round) => round.acceptedPerSecond),
      }),
    ),
    {
      key: `endToEnd_${loaded}`,
      label: `jobs completed/s end to end (${loaded} submitters)`,
      better: 'higher',
      values: (run) => jobRounds(run, loaded).map((round) => round.endToEndPerSecond),
    },
    latency(loaded, 'p50'),
    latency(loaded, 'p95'),
    latency(loaded, 'p99'),
    latency(light, 'p50'),
    latency(light, 'p95'),
    latency(light, 'p99'),
    {
      key: 'readsFixedRate',
      label: `status reads/s at ${config.fixedReadRate.toLocaleString('en')}/s offered`,
      better: 'higher',
      values: (run) => reads(run, (round) => round.fixedRate.requestsPerSecond),
    },
    {
      key: 'readsFixedRateP99',
      label: `status read p99, ms, at ${config.fixedReadRate.toLocaleString('en')}/s offered`,
      better: 'lower',
      values: (run) => reads(run, (round) => round.fixedRate.latencyMs.p99),
    },
    {
      key: 'readsFlatOut',
      label: `status reads/s flat out (${config.flatOutReaders} readers)`,
      better: 'higher',
      values: (run) => reads(run, (round) => round.flatOut.requestsPerSecond),
    },
    {
      key: 'readsFlatOutP99',
      label: `status read p99, ms, flat out (${config.flatOutReaders} readers)`,
      better: 'lower',
      values: (run) => reads(run, (round) => round.flatOut.latencyMs.p99),
    },
  ];
}

export function computeFigures(run: SystemRun, figures: readonly Figure[], config: BenchConfig): Record<string, Spread> {
  return Object.fromEntries(figures.map((figure) => [figure.key, spread(figure.values(run, config))]));
}

export interface RatioColumn {
  switchyard: string;
  peer: string;
}

export interface RatioRow {
  figure: string;
  label: string;
  better: 'higher' | 'lower';
  /** `<switchyard>/<peer>` -> median ÷ median; null where either side has no value. */
  ratios: Record<string, number | null>;
}

const PEERS = ['bullmq', 'pg-boss'];

export function ratioColumns(runs: readonly SystemRun[]): RatioColumn[] {
  const names = runs.map((run) => run.name);
  const peers = PEERS.filter((peer) => names.includes(peer));
  return names.filter((name) => name.startsWith('switchyard')).flatMap((switchyard) => peers.map((peer) => ({ switchyard, peer })));
}

export function ratioRows(runs: readonly SystemRun[], figures: readonly Figure[]): RatioRow[] {
  const median = (name: string, key: string): number => runs.find((run) => run.name === name)?.figures[key]?.median ?? Number.NaN;
  const columns = ratioColumns(runs);
  return figures.map((figure) => ({
    figure: figure.key,
    label: figure.label,
    better: figure.better,
    ratios: Object.fromEntries(
      columns.map(({ switchyard, peer }) => {
        const ratio = median(switchyard, figure.key) / median(peer, figure.key);
        return [`${switchyard}/${peer}`, Number.isFinite(ratio) ? ratio : null];
      }),
    ),
  }));
}

const cell = (value: number): string => {
  if (!Number.isFinite(value)) return '-';
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
};

const table = (header: string[], rows: string[][], firstWidth: number): string => {
  const widths = header.map((title, column) =>
    column === 0 ? firstWidth : Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (row: string[]): string =>
    row.map((value, column) => (column === 0 ? value.padEnd(widths[0] as number) : value.padStart(widths[column] as number))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
};

/** One table per figure (system: min / median / max), then the Switchyard ÷ peer ratio table. */
export function renderReport(runs: readonly SystemRun[], figures: readonly Figure[]): string {
  const out: string[] = [];
  const width = Math.max(24, ...runs.map((run) => run.name.length));
  for (const figure of figures) {
    const rows = runs
      .filter((run) => Number.isFinite(run.figures[figure.key]?.median))
      .map((run) => {
        const value = run.figures[figure.key] as Spread;
        return [run.name, cell(value.min), cell(value.median), cell(value.max)];
      });
    if (rows.length === 0) continue;
    out.push(`\n${figure.label}  (${figure.better} is better)\n${table(['system', 'min', 'median', 'max'], rows, width)}`);
  }
  const columns = ratioColumns(runs);
  if (columns.length > 0) {
    const ratios = ratioRows(runs, figures);
    const short = (name: string): string => name.replace('switchyard-', 'sy-');
    const header = ['figure (median ÷ median)', 'better', ...columns.map(({ switchyard, peer }) => `${short(switchyard)}/${peer}`)];
    const rows = ratios.map((row) => [
      row.label,
      row.better,
      ...columns.map(({ switchyard, peer }) => {
        const ratio = row.ratios[`${switchyard}/${peer}`];
        if (ratio === null || ratio === undefined) return '-';
        return `${ratio < 1 ? ratio.toPrecision(2) : cell(ratio)}×`;
      }),
    ]);
    out.push(
      `\nSwitchyard ÷ peer, from this run (a ratio above 1 is better for Switchyard where higher is better, below 1 where lower is better)\n` +
        table(header, rows, Math.max(...rows.map((row) => (row[0] ?? '').length), header[0]?.length ?? 0)),
    );
  }
  return out.join('\n');
}

interface CpuWindow {
  cpu: CpuUse | null;
  /** The jobs completed or reads answered in it. */
  units: number;
}

/** Each group's median percent of one CPU, ms and write syscalls per unit over the windows, largest first. */
function cpuLine(windows: readonly CpuWindow[], unit: string): string | null {
  const measured = windows.filter((window): window is { cpu: CpuUse; units: number } => window.cpu !== null);
  if (measured.length === 0) return null;
  const groups = [...new Set(measured.flatMap(({ cpu }) => Object.keys(cpu.byProcess)))];
  const median = (values: number[]): number => spread(values).median;
  const rows = groups
    .map((group) => ({
      group,
      percent: median(measured.map(({ cpu }) => cpu.byProcess[group] ?? 0)),
      each: median(measured.map(({ cpu, units }) => msPerUnit(cpu.byProcess[group] ?? 0, cpu.seconds, units))),
      writes: median(measured.map(({ cpu, units }) => (units > 0 ? (cpu.writesByProcess[group] ?? 0) / units : Number.NaN))),
    }))
    .filter((row) => row.percent >= 1)
    .sort((a, b) => b.percent - a.percent);
  const busy = median(measured.map(({ cpu }) => cpu.machineBusyPercent));
  const cpus = (measured[0] as { cpu: CpuUse }).cpu.cpus;
  return `machine ${busy.toFixed(0)} % of ${cpus * 100} %: ` + rows
      .map((row) => `${row.group} ${row.percent.toFixed(0)} % (${cell(row.each)} ms${row.writes > 0 ? `, ${row.writes.toFixed(1)} writes` : ''}/${unit})`)
      .join(', ');
}

/**
 * Where the CPU went, per system: while the loaded rounds ran (ms of CPU per completed job), and
 * during the fixed-rate status reads (ms per read). Percent of one CPU, medians over the rounds.
 */
export function renderCpu(runs: readonly SystemRun[], config: BenchConfig): string {
  const width = Math.max(24, ...runs.map((run) => run.name.length));
  const section = (title: string, line: (run: SystemRun) => string | null): string[] => {
    const lines = runs.flatMap((run) => {
      const text = line(run);
      return text ? [`${run.name.padEnd(width)}  ${text}`] : [];
    });
    return lines.length > 0 ? [`\n${title}`, ...lines] : [];
  };
  return [
    ...section(`CPU while the jobs ran (${config.loadedSubmitters} submitters; percent of one CPU, ms and write syscalls per completed job, medians over rounds)`, (run) =>
      cpuLine(jobRounds(run, config.loadedSubmitters).map((round) => ({ cpu: round.cpu, units: round.completed })), 'job'),
    ),
    ...section(`CPU during status reads at ${config.fixedReadRate.toLocaleString('en')}/s offered (ms and write syscalls per read)`, (run) =>
      cpuLine(run.readRounds.map((round) => ({ cpu: round.fixedRateCpu, units: round.fixedRate.ok })), 'read'),
    ),
  ].join('\n');
}
