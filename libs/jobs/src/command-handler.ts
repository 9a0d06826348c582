import {
  isDomainError,
  type Event,
  type EventMetadata,
  type EventStreamPort,
  type ExpectedVersion,
  type RecordedEvent,
} from '@switchyard/contracts';

/** Domain logic as three pure functions, as in Emmett. */
export interface Decider<Command, E, State> {
  decide(command: Command, state: State): E[];
  evolve(state: State, event: E): State;
  initialState(): State;
}

export interface HandleCommandOptions<State = unknown> {
  /** How many read-decide-append rounds to try before a version conflict is returned; default 5. */
  maxAttempts?: number;
  /** Stored beside each appended event (org, actor, correlation and causation ids). */
  metadata?: EventMetadata;
  /**
   * The stream as this caller last left it (a previous result's `newState` and
   * `nextExpectedVersion`): the first round decides on it without reading the stream again; if
   * another writer appended since, the append conflicts and the next round reads.
   */
  known?: { state: State; version: number };
}

export interface CommandHandlerResult<E, State> {
  newEvents: E[];
  newState: State;
  /** The stream's version after this command: what the next append should expect. */
  nextExpectedVersion: number;
}

export const DEFAULT_COMMAND_ATTEMPTS = 5;

const readOrEmpty = async (
  store: EventStreamPort,
  streamId: string,
): Promise<{ events: RecordedEvent[]; currentVersion: number }> => {
  try {
    return await store.readStream(streamId);
  } catch (error) {
    // A store may report a missing stream as an error instead of an empty read; both mean "no job yet".
    if (isDomainError(error, 'STREAM_NOT_FOUND')) return { events: [], currentVersion: 0 };
    throw error;
  }
};

/**
 * Reads a stream, folds it, decides and appends with the version it read; when another writer got
 * there first (VERSION_CONFLICT) it re-reads and decides again, up to `maxAttempts` rounds. Domain
 * refusals from `decide` are thrown as they are.
 */
export function handleCommand<Command, E extends Event, State>(
  store: EventStreamPort,
  streamId: string,
  command: Command,
  decider: Decider<Command, E, State>,
  options: HandleCommandOptions<State> = {},
): Promise<CommandHandlerResult<E, State>> {
  return handleCommands(store, streamId, [command], decider, options);
}

/**
 * Decides several commands in turn, each on the state the previous ones left, and appends all
 * their events at once: one transition's worth of round trips for what the caller knows happened
 * together. If any command is refused, nothing is appended.
 */
export async function handleCommands<Command, E extends Event, State>(
  store: EventStreamPort,
  streamId: string,
  commands: readonly Command[],
  decider: Decider<Command, E, State>,
  options: HandleCommandOptions<State> = {},
): Promise<CommandHandlerResult<E, State>> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_COMMAND_ATTEMPTS);
  let known = options.known;

  for (let attempt = 1; ; attempt++) {
    let state: State;
    let currentVersion: number;
    const fromKnown = known !== undefined;
    if (known) {
      ({ state, version: currentVersion } = known);
      known = undefined;
    } else {
      const read = await readOrEmpty(store, streamId);
      // The stream holds this decider's events (and maybe others its evolve ignores).
      state = (read.events as unknown as E[]).reduce(decider.evolve, decider.initialState());
      currentVersion = read.currentVersion;
    }
    const newEvents: E[] = [];
    let newState = state;
    try {
      for (const command of commands) {
        const decided = decider.decide(command, newState);
        newState = decided.reduce(decider.evolve, newState);
        newEvents.push(...decided);
      }
    } catch (error) {
      // A refusal is only final on the stream as it is now, not as the caller last saw it.
      if (fromKnown) {
        attempt -= 1;
        continue;
      }
      throw error;
    }
    if (newEvents.length === 0) return { newEvents, newState, nextExpectedVersion: currentVersion };

    // An empty stream must still be empty at append time, so a job id is taken once and forever.
    const expectedVersion: ExpectedVersion = currentVersion === 0 ? 'no_stream' : currentVersion;
    try {
      const { nextExpectedVersion } = await store.appendToStream(streamId, newEvents, {
        expectedVersion,
        ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
      });
      return { newEvents, newState, nextExpectedVersion };
    } catch (error) {
      if (!isDomainError(error, 'VERSION_CONFLICT') || attempt >= maxAttempts) throw error;
    }
  }
}
