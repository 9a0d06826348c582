import type { ImageJobInput, JobEvent } from '@switchyard/contracts';
import { DeciderSpecification } from '@switchyard/jobs/testing';
import { evolveImageJob, imageJobDecider, imageJobFromRecord, imageKindModel, initialImageJob, refundDue, type ImageJobEvent } from './image-job';
import { imageJobView } from './image-view';

const t = (second: number): string => new Date(Date.UTC(2026, 10, 23, 12, 0, second)).toISOString();

const input: ImageJobInput = {
  jobType: 'Listing Builder',
  asin: 'B0CXYZ1234',
  title: 'Trail running shoe',
  bulletPoints: ['Light', 'Grippy'],
  brandColors: { primary: '#112233' },
  variants: [0, 1, 2, 3].map((i) => ({ template: 'hero', width: 1080, height: 1080, photo: { blobKey: `photo-${i}` } })),
  creditsPerImage: 2,
  creditCost: 8,
};

const running: ImageJobEvent[] = [
  {
    type: 'JobSubmitted',
    data: {
      jobId: 'img_1',
      kind: 'image',
      orgId: 'org-1',
      input: input as unknown as Record<string, unknown>,
      retry: { maxAttempts: 3, initialBackoffMs: 1000, backoffFactor: 2, maxBackoffMs: 60000 },
      at: t(0),
    },
  } as JobEvent,
  { type: 'JobQueued', data: { at: t(0) } },
  { type: 'JobStarted', data: { attempt: 1, at: t(1) } },
];
const rendered = (index: number): ImageJobEvent => ({
  type: 'ImageVariantRendered',
  data: { index, outputKey: `out-${index}`, width: 1080, height: 1080, at: t(2 + index) },
});
const failed = (index: number): ImageJobEvent => ({
  type: 'ImageVariantFailed',
  data: { index, code: 'IMAGE_DECODE_FAILED', message: 'not an image', at: t(2 + index) },
});
const fold = (events: ImageJobEvent[]) => events.reduce(evolveImageJob, initialImageJob());
const spec = DeciderSpecification.for(imageJobDecider);

describe('image job decider', () => {
  it('records each variant’s outcome once', () => {
    spec.given(running).when({ type: 'RecordVariantRendered', data: { index: 0, outputKey: 'out-0', width: 1080, height: 1080, now: t(2) } }).then(rendered(0));
    spec.given([...running, rendered(0)]).when({ type: 'RecordVariantFailed', data: { index: 0, code: 'X', message: 'late', now: t(3) } }).thenNothing();
    spec.given(running).when({ type: 'RecordVariantFailed', data: { index: 9, code: 'X', message: 'x', now: t(3) } }).thenThrows('VALIDATION_FAILED');
  });

  it('finishes only when every variant has an outcome: partial when some failed, failed when all did', () => {
    spec.given([...running, rendered(0)]).when({ type: 'FinishImageJob', data: { now: t(9) } }).thenThrows('ILLEGAL_TRANSITION');
    spec
      .given([...running, rendered(0), failed(1), rendered(2), rendered(3)])
      .when({ type: 'FinishImageJob', data: { now: t(9) } })
      .then({ type: 'JobCompleted', data: { partial: true, at: t(9) } });
    spec
      .given([...running, failed(0), failed(1), failed(2), failed(3)])
      .when({ type: 'FinishImageJob', data: { now: t(9) } })
      .then({ type: 'JobFailed', data: { code: 'IMAGE_DECODE_FAILED', message: 'not an image', at: t(9) } });
    spec.given([...running, rendered(0)]).when({ type: 'RecordVariantRendered', data: { index: 1, outputKey: 'o', width: 1, height: 1, now: t(3) } }).then({
      type: 'ImageVariantRendered',
      data: { index: 1, outputKey: 'o', width: 1, height: 1, at: t(3) },
    });
  });

  it('refunds what did not render, and only once the job ended', () => {
    const partial = fold([...running, rendered(0), failed(1), rendered(2), rendered(3)]);
    expect(refundDue(partial)).toBe(0);
    expect(refundDue(fold([...running, rendered(0), failed(1), rendered(2), rendered(3), { type: 'JobCompleted', data: { partial: true, at: t(9) } }]))).toBe(2);
    expect(refundDue(fold([...running, rendered(0), { type: 'JobCancellationRequested', data: { at: t(5) } }, { type: 'JobCancelled', data: { at: t(6) } }]))).toBe(6);
  });
});

describe('image dialect view', () => {
  it('has the reference’s fields and types, with a preview per rendered image and an error per failed one', () => {
    const events: ImageJobEvent[] = [...running, rendered(0), failed(1), rendered(2), rendered(3), { type: 'JobCompleted', data: { partial: true, at: t(9) } }];
    const view = imageJobView(fold(events), (index) => `https://example.test/img/${index}.png?sig=x`);
    expect(view).toEqual({
      id: 'img_1',
      job_type: 'Listing Builder',
      status: 'completed',
      created_at: t(0),
      started_at: t(1),
      completed_at: t(9),
      credit_cost: 8,
      credits_refunded: 2,
      output: {
        ads: [
          { preview_url: 'https://example.test/img/0.png?sig=x', error: null },
          { preview_url: null, error: { code: 'IMAGE_DECODE_FAILED', message: 'not an image' } },
          { preview_url: 'https://example.test/img/2.png?sig=x', error: null },
          { preview_url: 'https://example.test/img/3.png?sig=x', error: null },
        ],
      },
      error_code: null,
    });
    expect(imageJobView(fold(running.slice(0, 2)), () => '').status).toBe('pending');
    expect(imageJobView(fold(running), () => '').output).toBeNull();
  });

  it('reads the same job back from the read model’s row', () => {
    const events: ImageJobEvent[] = [...running, rendered(0), failed(1)];
    const kindState = events.reduce((state, event) => imageKindModel.evolve(state, event), imageKindModel.initialState() as unknown);
    const job = fold(events);
    expect(imageJobFromRecord(job.lifecycle, JSON.parse(JSON.stringify(kindState)))).toEqual(job);
  });
});
