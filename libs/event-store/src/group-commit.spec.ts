import { GroupCommit, type QueuedAppend } from './group-commit';
import { turnEnded } from './testing';

interface Append extends QueuedAppend<string> {
  readonly name: string;
}

/** A GroupCommit whose writes wait until the test lets each go: the groups it wrote, by name. */
function lanes(maxInFlight: number, maxGroup = 64) {
  const written: string[][] = [];
  const pending: (() => void)[] = [];
  const commit = new GroupCommit<Append>(
    (group) =>
      new Promise<void>((resolve) => {
        written.push(group.map((append) => append.name));
        pending.push(() => {
          group.forEach((append) => append.resolve(append.name));
          resolve();
        });
      }),
    { maxInFlight, maxGroup },
  );
  const submit = (name: string, streamId = name): Promise<string> =>
    new Promise((resolve, reject) => commit.submit({ name, streamId, resolve: (result) => resolve(result as string), reject }));
  /** Lets the oldest write still waiting commit. */
  const commitOldest = (): void => pending.shift()?.();
  return { written, submit, commitOldest };
}

describe('GroupCommit', () => {
  it('writes the appends made in one turn as one group, though a lane was free for the first', async () => {
    const { written, submit } = lanes(2);
    void submit('a');
    void submit('b');
    void submit('c');
    expect(written).toEqual([]);
    await turnEnded();
    expect(written).toEqual([['a', 'b', 'c']]);
  });

  it('gathers what arrives while every lane is busy into the next group, and resolves each append', async () => {
    const { written, submit, commitOldest } = lanes(1);
    const first = submit('a');
    await turnEnded();
    const later = [submit('b'), submit('c')];
    await turnEnded();
    await turnEnded();
    expect(written).toEqual([['a']]);
    commitOldest();
    await expect(first).resolves.toBe('a');
    await turnEnded();
    expect(written).toEqual([['a'], ['b', 'c']]);
    commitOldest();
    await expect(Promise.all(later)).resolves.toEqual(['b', 'c']);
  });

  it("holds one append per stream in a group, and starts a stream's next only once its last committed", async () => {
    const { written, submit, commitOldest } = lanes(2);
    void submit('s1', 'stream-1');
    void submit('s2', 'stream-1');
    void submit('t1', 'stream-2');
    await turnEnded();
    // A lane is free, but stream-1's second append waits for its first.
    expect(written).toEqual([['s1', 't1']]);
    commitOldest();
    await turnEnded();
    expect(written).toEqual([['s1', 't1'], ['s2']]);
  });

  it('splits a turn larger than a group at maxGroup', async () => {
    const { written, submit } = lanes(2, 2);
    for (const name of ['a', 'b', 'c', 'd', 'e']) void submit(name);
    await turnEnded();
    // Two lanes of two: the fifth waits for a lane.
    expect(written).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
  });
});
