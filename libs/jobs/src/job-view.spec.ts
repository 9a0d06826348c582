import { DEFAULT_RETRY_POLICY, type JobEvent } from '@switchyard/contracts';
import { evolveJob, initialJobState } from './job-state';
import { isoInstant, jobView } from './job-view';

describe('isoInstant', () => {
  it('passes an instant in the form toISOString writes as it is', () => {
    const recorded = new Date(Date.UTC(2026, 10, 24, 22, 40, 9, 123)).toISOString();
    expect(isoInstant(recorded)).toBe('2026-11-24T22:40:09.123Z');
  });

  it('writes any other ISO 8601 instant in that form, in UTC', () => {
    expect(isoInstant('2026-11-25T10:00:00+02:00')).toBe('2026-11-25T08:00:00.000Z');
    expect(isoInstant('2026-11-25T08:00:00Z')).toBe('2026-11-25T08:00:00.000Z');
    expect(isoInstant('2026-11-25T08:00:00.5Z')).toBe('2026-11-25T08:00:00.500Z');
  });

  it('leaves a missing instant missing', () => {
    expect(isoInstant(null)).toBeNull();
  });
});

describe('jobView', () => {
  it('shows every instant in one form, whatever form it was recorded in', () => {
    const submitted: JobEvent = {
      type: 'JobSubmitted',
      data: {
        jobId: 'job_1',
        kind: 'print',
        orgId: 'org_1',
        submittedBy: 'user_1',
        input: {},
        retry: DEFAULT_RETRY_POLICY,
        runAt: '2030-01-01T12:00:00+01:00',
        at: '2030-01-01T00:00:00.000Z',
      },
    };
    const scheduled: JobEvent = { type: 'JobScheduled', data: { runAt: '2030-01-01T12:00:00+01:00', at: '2030-01-01T00:00:00.000Z' } };
    const view = jobView([submitted, scheduled].reduce(evolveJob, initialJobState()));
    expect(view).toMatchObject({ status: 'scheduled', createdAt: '2030-01-01T00:00:00.000Z', runAt: '2030-01-01T11:00:00.000Z' });
  });
});
