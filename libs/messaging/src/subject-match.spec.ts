import { eventSubject } from '@switchyard/contracts';
import { coveringSubjectFilter, eventTypesMatched, matchesAnySubject, subjectGroupsMatched, subjectMatches } from './subject-match';

describe('subjectMatches (NATS wildcard rules)', () => {
  it.each([
    ['evt.print.j1.JobSubmitted', 'evt.print.j1.JobSubmitted', true],
    ['evt.print.j1.JobSubmitted', 'evt.print.j1.JobStarted', false],
    ['evt.print.*.JobSubmitted', 'evt.print.j1.JobSubmitted', true],
    ['evt.*.*.JobSubmitted', 'evt.scan.j2.JobSubmitted', true],
    ['evt.print.*', 'evt.print.j1.JobSubmitted', false],
    ['evt.print.*.*', 'evt.print.j1', false],
    ['evt.print.>', 'evt.print.j1.JobSubmitted', true],
    ['evt.print.>', 'evt.print.j1', true],
    ['evt.print.>', 'evt.print', false],
    ['evt.>', 'evt.credits.org1.CreditsGranted', true],
    ['>', 'anything.at.all', true],
    ['>', 'one', true],
    ['*', 'one', true],
    ['*', 'one.two', false],
    ['evt.print.>', 'evt.printer.j1.X', false],
    ['evt.print.>', 'other.print.j1.X', false],
    ['evt.*.j1.>', 'evt.scan.j1.JobStarted', true],
    // '>' is only a wildcard as the last token; elsewhere nothing matches it as one.
    ['evt.>.X', 'evt.a.X', false],
    // A literal token is compared whole, never as a prefix.
    ['evt.pr*.>', 'evt.print.j1.X', false],
    ['evt.print.j1', 'evt.print.j1.X', false],
  ])('%s matches %s: %s', (filter, subject, expected) => {
    expect(subjectMatches(filter, subject)).toBe(expected);
  });

  it('matches the subjects the relay publishes on', () => {
    const subject = eventSubject('job-7f3a', 'JobSubmitted', 'print', 't_root');
    expect(subject).toBe('t_root.print.7f3a.JobSubmitted');
    expect(matchesAnySubject(['t_root.scan.>', 't_root.*.*.JobSubmitted'], subject)).toBe(true);
    expect(matchesAnySubject(['t_root.scan.>', 'evt.>'], subject)).toBe(false);
    expect(matchesAnySubject([], subject)).toBe(false);
  });
});

describe('coveringSubjectFilter', () => {
  it.each<[string[], string | undefined]>([
    [[], undefined],
    [['evt.print.>'], 'evt.print.>'],
    [['evt.print.>', 'evt.scan.>'], 'evt.>'],
    [['evt.print.*.JobSubmitted', 'evt.print.*.JobStarted'], 'evt.print.>'],
    [['evt.print.j1', 'evt.print.j1.X'], 'evt.print.>'],
    [['evt.*.j1.X', 'evt.*.j2.X'], 'evt.>'],
    [['a.>', 'b.>'], undefined],
  ])('%j -> %s', (filters, expected) => {
    expect(coveringSubjectFilter(filters)).toBe(expected);
  });

  it('covers every subject any of its filters matches', () => {
    const filters = ['evt.print.*.JobSubmitted', 'evt.print.j9.>', 'evt.print.j1'];
    const covering = coveringSubjectFilter(filters) as string;
    for (const subject of ['evt.print.j1.JobSubmitted', 'evt.print.j9.A.B', 'evt.print.j1']) {
      expect(matchesAnySubject(filters, subject)).toBe(true);
      expect(subjectMatches(covering, subject)).toBe(true);
    }
  });
});

describe('eventTypesMatched', () => {
  it.each([
    [['evt.print.*.JobQueued'], ['JobQueued']],
    [['evt.print.*.JobQueued', 'evt.image.*.JobQueued', 'evt.*.j1.JobStarted'], ['JobQueued', 'JobStarted']],
    [['evt.print.*.*'], undefined],
    [['evt.print.>'], undefined],
    [['evt.>'], undefined],
    [['evt.print.*.JobQueued', 'evt.scan.>'], undefined],
    // Too short or too long for an event subject: matches no event.
    [['evt.print.j1'], []],
    [['evt.print.j1.JobQueued.more'], []],
    // Another root: matches none of this root's events.
    [['other.print.*.JobQueued'], []],
    [['evtx.print.*.JobQueued', 'evt.print.*.JobDone'], ['JobDone']],
  ])('%j -> %j', (filters, expected) => {
    expect(eventTypesMatched(filters, 'evt')).toEqual(expected);
  });

  it('keeps every subject its filters match', () => {
    const filters = ['evt.print.*.JobQueued', 'evt.*.j1.JobStarted'];
    const types = eventTypesMatched(filters, 'evt') as string[];
    for (const [streamId, type, kind] of [
      ['job-j2', 'JobQueued', 'print'],
      ['job-j1', 'JobStarted', 'scan'],
    ] as const) {
      const subject = eventSubject(streamId, type, kind);
      expect(matchesAnySubject(filters, subject)).toBe(true);
      expect(types).toContain(type);
    }
  });
});

describe('subjectGroupsMatched', () => {
  it.each([
    [['evt.print.*.JobQueued'], ['print']],
    [['evt.print.*.JobQueued', 'evt.image.*.JobQueued', 'evt.print.j1.JobStarted'], ['print', 'image']],
    [['evt.credits.*.CreditsGranted'], ['credits']],
    [['evt.print.>'], ['print']],
    [['evt.*.*.JobQueued'], undefined],
    [['evt.>'], undefined],
    [['evt.print.*.JobQueued', 'evt.*.j1.JobStarted'], undefined],
    // Another root: matches none of this root's events.
    [['other.print.*.JobQueued'], []],
    [['other.*.*.JobQueued', 'evt.image.*.JobQueued'], ['image']],
  ])('%j -> %j', (filters, expected) => {
    expect(subjectGroupsMatched(filters, 'evt')).toEqual(expected);
  });

  it('names the group of every subject the filters match', () => {
    const subject = eventSubject('job-j1', 'JobQueued', 'print');
    const filters = ['evt.print.*.JobQueued'];
    expect(matchesAnySubject(filters, subject)).toBe(true);
    expect(subjectGroupsMatched(filters, 'evt')).toContain(subject.split('.')[1]);
  });
});
