import { sql, type Kysely } from 'kysely';

/** What autovacuum reads of a table before deciding what it needs. */
export interface TableActivity {
  schema: string;
  table: string;
  /** pg_class.reltuples: -1 for a table never vacuumed or analyzed. */
  reltuples: number;
  deadTuples: number;
  modifiedSinceAnalyze: number;
  insertedSinceVacuum: number;
  /** age(relfrozenxid): transactions since the table's oldest unfrozen row. */
  xidAge: number;
  /** mxid_age(relminmxid). */
  multixactAge: number;
}

/** The autovacuum_* settings the thresholds are made of, as PostgreSQL names them. */
export interface AutovacuumSettings {
  vacuumThreshold: number;
  vacuumScaleFactor: number;
  /** -1 turns inserts-triggered vacuums off, as in PostgreSQL. */
  insertThreshold: number;
  insertScaleFactor: number;
  analyzeThreshold: number;
  analyzeScaleFactor: number;
  freezeMaxAge: number;
  multixactFreezeMaxAge: number;
  /** autovacuum_naptime: how long between two looks at the tables. */
  naptimeMs: number;
}

export interface Upkeep {
  vacuum: boolean;
  analyze: boolean;
}

/**
 * What PostgreSQL's autovacuum would do with a table (relation_needs_vacanalyze in autovacuum.c):
 * vacuum past the dead-row or inserted-row threshold, or when its oldest unfrozen transaction or
 * multixact is too old; analyze past the changed-row threshold. Each threshold is a base plus a
 * share of the table's last known size. Per-table storage parameters are not read.
 */
export function upkeepFor(activity: TableActivity, settings: AutovacuumSettings): Upkeep {
  const rows = Math.max(0, activity.reltuples);
  const wraparound = activity.xidAge > settings.freezeMaxAge || activity.multixactAge > settings.multixactFreezeMaxAge;
  const dead = activity.deadTuples > settings.vacuumThreshold + settings.vacuumScaleFactor * rows;
  const inserted = settings.insertThreshold >= 0 && activity.insertedSinceVacuum > settings.insertThreshold + settings.insertScaleFactor * rows;
  // The statistics table itself is never analyzed.
  const analyzable = !(activity.schema === 'pg_catalog' && activity.table === 'pg_statistic');
  const changed = analyzable && activity.modifiedSinceAnalyze > settings.analyzeThreshold + settings.analyzeScaleFactor * rows;
  return { vacuum: wraparound || dead || inserted, analyze: changed };
}

const SETTING_NAMES = {
  vacuumThreshold: 'autovacuum_vacuum_threshold',
  vacuumScaleFactor: 'autovacuum_vacuum_scale_factor',
  insertThreshold: 'autovacuum_vacuum_insert_threshold',
  insertScaleFactor: 'autovacuum_vacuum_insert_scale_factor',
  analyzeThreshold: 'autovacuum_analyze_threshold',
  analyzeScaleFactor: 'autovacuum_analyze_scale_factor',
  freezeMaxAge: 'autovacuum_freeze_max_age',
  multixactFreezeMaxAge: 'autovacuum_multixact_freeze_max_age',
  naptimeMs: 'autovacuum_naptime',
} as const satisfies Record<keyof AutovacuumSettings, string>;

/** The database's own autovacuum settings (autovacuum_naptime is in seconds there). */
export async function readAutovacuumSettings(db: Kysely<unknown>): Promise<AutovacuumSettings> {
  const names = Object.values(SETTING_NAMES);
  const { rows } = await sql<{ name: string; setting: string }>`
    SELECT name, setting FROM pg_settings WHERE name IN (${sql.join(names)})`.execute(db);
  const byName = new Map(rows.map(({ name, setting }) => [name, Number(setting)]));
  const entries = Object.entries(SETTING_NAMES).map(([key, name]) => {
    const value = byName.get(name);
    if (value === undefined || Number.isNaN(value)) throw new Error(`the database has no setting ${name}`);
    return [key, key === 'naptimeMs' ? value * 1000 : value];
  });
  return Object.fromEntries(entries) as AutovacuumSettings;
}

/** Every table and materialized view the counters are kept for, system catalogs included. */
export async function readTableActivity(db: Kysely<unknown>): Promise<TableActivity[]> {
  const { rows } = await sql<TableActivity>`
    SELECT n.nspname AS schema, c.relname AS "table", c.reltuples::float8 AS reltuples,
           coalesce(s.n_dead_tup, 0)::float8 AS "deadTuples",
           coalesce(s.n_mod_since_analyze, 0)::float8 AS "modifiedSinceAnalyze",
           coalesce(s.n_ins_since_vacuum, 0)::float8 AS "insertedSinceVacuum",
           age(c.relfrozenxid)::float8 AS "xidAge", mxid_age(c.relminmxid)::float8 AS "multixactAge"
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
    WHERE c.relkind IN ('r', 'm') AND c.relpersistence = 'p'
    ORDER BY n.nspname, c.relname`.execute(db);
  return rows;
}

export interface AutovacuumOptions {
  /** Between two rounds; default: the database's autovacuum_naptime. */
  naptimeMs?: number;
  /** A round or a table's statement failed; the next round tries again. */
  onError?: (error: unknown) => void;
}

/**
 * Autovacuum for a database that has no autovacuum daemon: PGlite is one backend in single-user
 * mode, so nothing ever vacuums or analyzes its tables. Without statistics the planner scans the
 * whole event log where an index reaches the few rows wanted (3 ms a look at 20,000 events, and
 * growing with the log); without vacuums dead rows pile up and transaction ids are never frozen.
 * Every naptime this does what the daemon would, one table per statement, so that other statements
 * run between them. Each statement goes through `db` outside any transaction, as VACUUM must.
 */
export class Autovacuum {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private stopped = false;
  private settings: AutovacuumSettings | undefined;

  constructor(
    private readonly db: Kysely<unknown>,
    private readonly options: AutovacuumOptions = {},
  ) {}

  /** Runs a round now (a database opened after a while may need one most), then every naptime. */
  start(): void {
    this.stopped = false;
    this.runRound();
  }

  /** Waits for the statement running now, if any; runs no more. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.round;
  }

  /** One round: looks at every table and vacuums or analyzes those that need it. Returns the statements run. */
  async runOnce(): Promise<string[]> {
    const settings = await this.settingsOnce();
    const done: string[] = [];
    for (const activity of await readTableActivity(this.db)) {
      if (this.stopped) break;
      const { vacuum, analyze } = upkeepFor(activity, settings);
      if (!vacuum && !analyze) continue;
      const verb = vacuum && analyze ? 'VACUUM (ANALYZE)' : vacuum ? 'VACUUM' : 'ANALYZE';
      const table = sql.id(activity.schema, activity.table);
      try {
        await sql`${sql.raw(verb)} ${table}`.execute(this.db);
        done.push(`${verb} ${activity.schema}.${activity.table}`);
      } catch (error) {
        this.options.onError?.(error);
      }
    }
    return done;
  }

  private async settingsOnce(): Promise<AutovacuumSettings> {
    this.settings ??= await readAutovacuumSettings(this.db);
    return this.settings;
  }

  private runRound(): void {
    this.round = this.runOnce()
      .then(
        () => undefined,
        (error: unknown) => this.options.onError?.(error),
      )
      .finally(() => {
        this.round = undefined;
        if (!this.stopped) void this.scheduleNext();
      });
  }

  private async scheduleNext(): Promise<void> {
    let naptimeMs = this.options.naptimeMs;
    if (naptimeMs === undefined) {
      try {
        naptimeMs = (await this.settingsOnce()).naptimeMs;
      } catch (error) {
        this.options.onError?.(error);
        return;
      }
    }
    if (this.stopped) return;
    this.timer = setTimeout(() => this.runRound(), naptimeMs);
    // A process with nothing else to do may end: upkeep never keeps it alive.
    this.timer.unref();
  }
}
