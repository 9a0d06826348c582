/** One append waiting for its group's transaction. */
export interface QueuedAppend<Result> {
  readonly streamId: string;
  resolve(result: Result): void;
  reject(error: unknown): void;
}

export interface GroupCommitOptions {
  /** Groups being written at once; each is one transaction. */
  maxInFlight: number;
  /** Appends in one group at most. */
  maxGroup: number;
}

/**
 * Group commit without waiting: an append starts at once when a lane is free; appends that arrive
 * while every lane is busy queue up and go together in the next group, as one transaction and one
 * statement. A group holds one append per stream, and a stream whose append is being written waits
 * for it, so a stream's appends commit in the order they were made.
 */
export class GroupCommit<A extends QueuedAppend<unknown>> {
  private queue: A[] = [];
  private inFlight = 0;
  private readonly writing = new Set<string>();

  constructor(
    private readonly write: (group: readonly A[]) => Promise<void>,
    private readonly options: GroupCommitOptions,
  ) {}

  submit(append: A): void {
    this.queue.push(append);
    this.drain();
  }

  private drain(): void {
    while (this.inFlight < this.options.maxInFlight) {
      const group = this.take();
      if (group.length === 0) return;
      this.inFlight += 1;
      for (const append of group) this.writing.add(append.streamId);
      void this.write(group)
        .catch((error: unknown) => group.forEach((append) => append.reject(error)))
        .finally(() => {
          for (const append of group) this.writing.delete(append.streamId);
          this.inFlight -= 1;
          this.drain();
        });
    }
  }

  private take(): A[] {
    const group: A[] = [];
    const streams = new Set<string>();
    const rest: A[] = [];
    for (const append of this.queue) {
      const free = !this.writing.has(append.streamId) && !streams.has(append.streamId);
      if (free && group.length < this.options.maxGroup) {
        group.push(append);
        streams.add(append.streamId);
      } else {
        rest.push(append);
      }
    }
    this.queue = rest;
    return group;
  }
}
