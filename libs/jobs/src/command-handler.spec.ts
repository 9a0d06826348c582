import {
  DEFAULT_RETRY_POLICY,
  DomainError,
  jobStreamId,
  type Event,
  type EventMetadata,
  type EventStreamPort,
  type ExpectedVersion,
  type JobCommand,
  type RecordedEvent,
} from '@switchyard/contracts';
import { handleCommand, handleCommands } from './command-handler';
import { jobDecider } from './job-decider';

/** A Map of arrays with the store's optimistic concurrency rules, and a hook to race it. */
class InMemoryEventStream implements EventStreamPort {
  readonly streams = new Map<string, RecordedEvent[]>();
  readonly appends: { streamId: string; events: readonly Event[]; expectedVersion?: ExpectedVersion; metadata?: EventMetadata }[] = [];
  /** Runs before each append check: lets a test slip in another writer's events. */
  beforeAppend: (streamId: string) => void = () => undefined;
  private position = 0;

  async readStream(streamId: string): Promise<{ events: RecordedEvent[]; currentVersion: number }> {
    const events = this.streams.get(streamId) ?? [];
    return { events: [...events], currentVersion: events.length };
  }

  async appendToStream(
    streamId: string,
    events: readonly Event[],
    options: { expectedVersion?: ExpectedVersion; metadata?: EventMetadata } = {},
  ): Promise<{ nextExpectedVersion: number }> {
    this.beforeAppend(streamId);
    const version = this.streams.get(streamId)?.length ?? 0;
    const { expectedVersion = 'any', metadata } = options;
    const matches =
      expectedVersion === 'any' ||
      (expectedVersion === 'no_stream' && version === 0) ||
      (expectedVersion === 'exists' && version > 0) ||
      expectedVersion === version;
    if (!matches) {
      throw new DomainError('VERSION_CONFLICT', `expected ${String(expectedVersion)}, found ${version}`);
    }
    this.appends.push({ streamId, events, expectedVersion, ...(metadata === undefined ? {} : { metadata }) });
    this.write(streamId, events, metadata);
    return { nextExpectedVersion: version + events.length };
  }

  /** Appends without any check, as another writer would. */
  write(streamId: string, events: readonly Event[], metadata: EventMetadata = {}): void {
    const stream = this.streams.get(streamId) ?? [];
    for (const event of events) {
      this.position += 1;
      stream.push({
        ...event,
        eventId: `evt_${this.position}`,
        streamId,
        streamVersion: stream.length + 1,
        globalPosition: this.position,
        transactionId: String(this.position),
        metadata: { ...metadata, ...event.metadata },
        createdAt: new Date(0),
      });
    }
    this.streams.set(streamId, stream);
  }
}

const streamId = jobStreamId('job_1');
const submit: JobCommand = {
  type: 'SubmitJob',
  data: { jobId: 'job_1', kind: 'print', orgId: 'org_1', input: {}, now: '2030-01-01T00:00:00.000Z' },
};
const start: JobCommand = { type: 'StartJob', data: { workerId: 'w1', now: '2030-01-01T00:00:01.000Z' } };
const progress = (value: number, now = '2030-01-01T00:00:02.000Z'): JobCommand => ({
  type: 'ReportProgress',
  data: { progress: value, now },
});

describe('handleCommand', () => {
  let store: InMemoryEventStream;
  beforeEach(() => {
    store = new InMemoryEventStream();
  });

  it('appends the first events of a job expecting no stream, then the version it read', async () => {
    const submitted = await handleCommand(store, streamId, submit, jobDecider, { metadata: { orgId: 'org_1', actor: 'user_1' } });
    expect(submitted.newEvents.map((event) => event.type)).toEqual(['JobSubmitted', 'JobQueued']);
    expect(submitted.newState.status).toBe('queued');
    expect(submitted.nextExpectedVersion).toBe(2);

    const started = await handleCommand(store, streamId, start, jobDecider);
    expect(started.newEvents).toEqual([{ type: 'JobStarted', data: { attempt: 1, workerId: 'w1', at: '2030-01-01T00:00:01.000Z' } }]);
    expect(started.newState).toMatchObject({ status: 'running', attempts: 1 });
    expect(started.nextExpectedVersion).toBe(3);

    expect(store.appends.map(({ expectedVersion, metadata }) => ({ expectedVersion, metadata }))).toEqual([
      { expectedVersion: 'no_stream', metadata: { orgId: 'org_1', actor: 'user_1' } },
      { expectedVersion: 2, metadata: undefined },
    ]);
    expect(store.streams.get(streamId)?.[0]?.metadata).toEqual({ orgId: 'org_1', actor: 'user_1' });
  });

  it('re-reads and re-decides after a conflict, appending what the new state calls for', async () => {
    await handleCommand(store, streamId, submit, jobDecider);
    await handleCommand(store, streamId, start, jobDecider);
    let raced = false;
    store.beforeAppend = (id) => {
      if (raced) return;
      raced = true;
      // Another worker reports 50% between our read and our append.
      store.write(id, [{ type: 'JobProgressed', data: { progress: 50, at: '2030-01-01T00:00:01.500Z' } }]);
    };

    const result = await handleCommand(store, streamId, progress(70), jobDecider);

    expect(result.newEvents).toEqual([{ type: 'JobProgressed', data: { progress: 70, at: '2030-01-01T00:00:02.000Z' } }]);
    expect(result.newState.progress).toBe(70);
    expect(result.nextExpectedVersion).toBe(5);
    expect(store.appends.at(-1)?.expectedVersion).toBe(4);
  });

  it('returns the re-decided nothing when the winner already made the command moot', async () => {
    await handleCommand(store, streamId, submit, jobDecider);
    await handleCommand(store, streamId, start, jobDecider);
    store.beforeAppend = (id) => {
      store.beforeAppend = () => undefined;
      store.write(id, [{ type: 'JobProgressed', data: { progress: 90, at: '2030-01-01T00:00:01.500Z' } }]);
    };

    const result = await handleCommand(store, streamId, progress(70), jobDecider);

    expect(result).toMatchObject({ newEvents: [], nextExpectedVersion: 4, newState: { progress: 90 } });
    expect(store.streams.get(streamId)).toHaveLength(4);
  });

  it('gives up with VERSION_CONFLICT after the configured number of tries', async () => {
    await handleCommand(store, streamId, submit, jobDecider);
    await handleCommand(store, streamId, start, jobDecider);
    let tries = 0;
    let next = 10;
    store.beforeAppend = (id) => {
      tries += 1;
      next += 1;
      store.write(id, [{ type: 'JobProgressed', data: { progress: next, at: '2030-01-01T00:00:01.500Z' } }]);
    };

    await expect(handleCommand(store, streamId, progress(99), jobDecider, { maxAttempts: 3 })).rejects.toMatchObject({
      code: 'VERSION_CONFLICT',
    });
    expect(tries).toBe(3);
  });

  it('tries five times by default', async () => {
    await handleCommand(store, streamId, submit, jobDecider);
    let tries = 0;
    store.beforeAppend = (id) => {
      tries += 1;
      store.write(id, [{ type: 'JobMessageLogged', data: { level: 'info', message: 'noise', at: '2030-01-01T00:00:00.500Z' } }]);
    };

    await expect(handleCommand(store, streamId, start, jobDecider)).rejects.toMatchObject({ code: 'VERSION_CONFLICT' });
    expect(tries).toBe(5);
  });

  it('refuses a second job with the same id', async () => {
    await handleCommand(store, streamId, submit, jobDecider);
    await expect(handleCommand(store, streamId, submit, jobDecider)).rejects.toMatchObject({ code: 'JOB_ALREADY_EXISTS' });
    expect(store.streams.get(streamId)).toHaveLength(2);
  });

  it('turns a concurrent second submission into JOB_ALREADY_EXISTS on the re-decide', async () => {
    store.beforeAppend = (id) => {
      store.beforeAppend = () => undefined;
      store.write(id, [
        {
          type: 'JobSubmitted',
          data: { ...submit.data, retry: DEFAULT_RETRY_POLICY, at: '2030-01-01T00:00:00.000Z' },
        },
      ]);
    };
    await expect(handleCommand(store, streamId, submit, jobDecider)).rejects.toMatchObject({ code: 'JOB_ALREADY_EXISTS' });
    expect(store.appends).toHaveLength(0);
  });

  it('appends nothing when the decision is empty', async () => {
    await handleCommand(store, streamId, submit, jobDecider);
    await handleCommand(store, streamId, start, jobDecider);
    await handleCommand(store, streamId, progress(40), jobDecider);
    const appendsBefore = store.appends.length;

    const result = await handleCommand(store, streamId, progress(40), jobDecider);

    expect(result).toMatchObject({ newEvents: [], nextExpectedVersion: 4, newState: { progress: 40 } });
    expect(store.appends).toHaveLength(appendsBefore);
  });

  it('passes a domain refusal straight through, without retrying', async () => {
    await expect(handleCommand(store, streamId, start, jobDecider)).rejects.toBeInstanceOf(DomainError);
    await expect(handleCommand(store, streamId, start, jobDecider)).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
    expect(store.appends).toHaveLength(0);
  });

  it('treats a store that reports STREAM_NOT_FOUND as an empty stream', async () => {
    const strict: EventStreamPort = {
      readStream: async (id) => {
        if (!store.streams.has(id)) throw new DomainError('STREAM_NOT_FOUND', id);
        return store.readStream(id);
      },
      appendToStream: (id, events, options) => store.appendToStream(id, events, options),
    };
    const result = await handleCommand(strict, streamId, submit, jobDecider);
    expect(result.nextExpectedVersion).toBe(2);
  });

  it('folds a kind’s own events on the stream through the decider’s evolve', async () => {
    await handleCommand(store, streamId, submit, jobDecider);
    store.write(streamId, [{ type: 'PrinterJobAccepted', data: { cupsJobId: 7 } }]);
    const result = await handleCommand(store, streamId, start, jobDecider);
    expect(result.nextExpectedVersion).toBe(4);
    expect(store.appends.at(-1)?.expectedVersion).toBe(3);
  });

  describe('with the state the caller already knows', () => {
    /** Counts reads, to show which rounds skipped them. */
    const reads = (): { count: number } => {
      const counter = { count: 0 };
      const read = store.readStream.bind(store);
      store.readStream = async (id: string) => {
        counter.count += 1;
        return read(id);
      };
      return counter;
    };

    it('decides on it without reading, and chains on what it returns', async () => {
      const submitted = await handleCommand(store, streamId, submit, jobDecider);
      const counter = reads();
      const started = await handleCommand(store, streamId, start, jobDecider, {
        known: { state: submitted.newState, version: submitted.nextExpectedVersion },
      });
      const progressed = await handleCommand(store, streamId, progress(40), jobDecider, {
        known: { state: started.newState, version: started.nextExpectedVersion },
      });
      expect(counter.count).toBe(0);
      expect(progressed).toMatchObject({ nextExpectedVersion: 4, newState: { status: 'running', progress: 40 } });
      expect(store.appends.map((append) => append.expectedVersion)).toEqual(['no_stream', 2, 3]);
    });

    it('reads and decides again when another writer appended since', async () => {
      const submitted = await handleCommand(store, streamId, submit, jobDecider);
      await handleCommand(store, streamId, start, jobDecider);
      const counter = reads();
      // Known as queued, but it is running now: StartJob must be refused on what the stream says.
      await expect(
        handleCommand(store, streamId, start, jobDecider, { known: { state: submitted.newState, version: submitted.nextExpectedVersion } }),
      ).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
      expect(counter.count).toBe(1);
      expect(store.streams.get(streamId)).toHaveLength(3);
    });

    it('treats a refusal on the known state as final only after reading', async () => {
      await handleCommand(store, streamId, submit, jobDecider);
      const started = await handleCommand(store, streamId, start, jobDecider);
      const stale = { state: { ...started.newState, status: 'completed' as const }, version: started.nextExpectedVersion };
      const result = await handleCommand(store, streamId, progress(10), jobDecider, { known: stale });
      expect(result.newState.progress).toBe(10);
    });
  });

  describe('handleCommands', () => {
    it('appends the events of several commands in one append, each decided on the last one’s state', async () => {
      await handleCommand(store, streamId, submit, jobDecider);
      const result = await handleCommands(store, streamId, [start, progress(30), progress(60)], jobDecider);
      expect(result.newEvents.map((event) => event.type)).toEqual(['JobStarted', 'JobProgressed', 'JobProgressed']);
      expect(result.newState).toMatchObject({ status: 'running', progress: 60 });
      expect(store.appends).toHaveLength(2);
    });

    it('appends nothing when one of them is refused', async () => {
      await handleCommand(store, streamId, submit, jobDecider);
      await expect(handleCommands(store, streamId, [start, start], jobDecider)).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
      expect(store.streams.get(streamId)).toHaveLength(2);
    });
  });
});
