import { upkeepFor, type AutovacuumSettings, type TableActivity } from './autovacuum';

// PostgreSQL's defaults.
const settings: AutovacuumSettings = {
  vacuumThreshold: 50,
  vacuumScaleFactor: 0.2,
  insertThreshold: 1000,
  insertScaleFactor: 0.2,
  analyzeThreshold: 50,
  analyzeScaleFactor: 0.1,
  freezeMaxAge: 200_000_000,
  multixactFreezeMaxAge: 400_000_000,
  naptimeMs: 60_000,
};

const quiet: TableActivity = {
  schema: 'public',
  table: 'events',
  reltuples: 10_000,
  deadTuples: 0,
  modifiedSinceAnalyze: 0,
  insertedSinceVacuum: 0,
  xidAge: 1_000,
  multixactAge: 0,
};

describe('what autovacuum would do with a table', () => {
  it('leaves a table alone below every threshold', () => {
    // 50 + 0.2 × 10,000 dead rows; 1,000 + 0.2 × 10,000 inserted; 50 + 0.1 × 10,000 changed.
    expect(upkeepFor({ ...quiet, deadTuples: 2_050, insertedSinceVacuum: 3_000, modifiedSinceAnalyze: 1_050 }, settings)).toEqual({
      vacuum: false,
      analyze: false,
    });
  });

  it('vacuums past the dead rows or the inserted rows threshold, and analyzes past the changed rows one', () => {
    expect(upkeepFor({ ...quiet, deadTuples: 2_051 }, settings)).toEqual({ vacuum: true, analyze: false });
    expect(upkeepFor({ ...quiet, insertedSinceVacuum: 3_001 }, settings)).toEqual({ vacuum: true, analyze: false });
    expect(upkeepFor({ ...quiet, modifiedSinceAnalyze: 1_051 }, settings)).toEqual({ vacuum: false, analyze: true });
  });

  it('counts a table never vacuumed nor analyzed (reltuples -1) as empty', () => {
    expect(upkeepFor({ ...quiet, reltuples: -1, modifiedSinceAnalyze: 51, insertedSinceVacuum: 1_001 }, settings)).toEqual({
      vacuum: true,
      analyze: true,
    });
  });

  it('vacuums a table whose oldest unfrozen transaction or multixact is too old, whatever its counters', () => {
    expect(upkeepFor({ ...quiet, xidAge: 200_000_001 }, settings).vacuum).toBe(true);
    expect(upkeepFor({ ...quiet, multixactAge: 400_000_001 }, settings).vacuum).toBe(true);
  });

  it('never vacuums for inserts when that threshold is -1, and never analyzes pg_statistic', () => {
    expect(upkeepFor({ ...quiet, insertedSinceVacuum: 1_000_000 }, { ...settings, insertThreshold: -1 }).vacuum).toBe(false);
    expect(upkeepFor({ ...quiet, schema: 'pg_catalog', table: 'pg_statistic', modifiedSinceAnalyze: 1_000_000 }, settings).analyze).toBe(false);
  });
});
