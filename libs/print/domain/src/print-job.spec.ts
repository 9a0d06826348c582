import type { JobEvent, PrintJobInput } from '@switchyard/contracts';
import { DeciderSpecification } from '@switchyard/jobs/testing';
import { evolvePrintJob, initialPrintJob, printJobDecider, type PrintJobEvent } from './print-job';
import { printJobView } from './print-view';

const t = (second: number): string => new Date(Date.UTC(2026, 2, 28, 14, 30, second)).toISOString();

const input = (uri = 'ipp://127.0.0.1:8631/ipp/print'): PrintJobInput => ({
  target: 'tag_LABELS',
  printer: 'ProxyBox_Labels',
  printerUri: uri,
  title: 'Shipping Label #1234',
  source: 'my-erp',
  contentType: 'raw_base64',
  size: 1024,
  documentKey: 'doc-1',
});

const submitted = (uri?: string): JobEvent[] => [
  {
    type: 'JobSubmitted',
    data: {
      jobId: 'pj_a8f3e1b2',
      kind: 'print',
      orgId: 'org-1',
      input: input(uri),
      retry: { maxAttempts: 1, initialBackoffMs: 0, backoffFactor: 1, maxBackoffMs: 0 },
      at: t(0),
    },
  },
  { type: 'JobQueued', data: { at: t(0) } },
];
const running = (uri?: string): PrintJobEvent[] => [...submitted(uri), { type: 'JobStarted', data: { attempt: 1, at: t(1) } }];

const spec = DeciderSpecification.for(printJobDecider);
const fold = (events: PrintJobEvent[]) => events.reduce(evolvePrintJob, initialPrintJob());

describe('print job decider', () => {
  it('records the printer accepting a running job, once', () => {
    spec
      .given(running())
      .when({ type: 'RecordPrinterAcceptance', data: { printerJobId: '42', now: t(2) } })
      .then({ type: 'PrinterJobAccepted', data: { printerJobId: '42', at: t(2) } });
    spec
      .given([...running(), { type: 'PrinterJobAccepted', data: { printerJobId: '42', at: t(2) } }])
      .when({ type: 'RecordPrinterAcceptance', data: { printerJobId: '42', now: t(3) } })
      .thenNothing();
    spec
      .given([...running(), { type: 'PrinterJobAccepted', data: { printerJobId: '42', at: t(2) } }])
      .when({ type: 'RecordPrinterAcceptance', data: { printerJobId: '43', now: t(3) } })
      .thenThrows('ILLEGAL_TRANSITION');
  });

  it('marks the start of a delivery once', () => {
    const started: PrintJobEvent = { type: 'PrinterDeliveryStarted', data: { at: t(2) } };
    spec.given(running()).when({ type: 'StartDelivery', data: { now: t(2) } }).then(started);
    spec.given([...running(), started]).when({ type: 'StartDelivery', data: { now: t(3) } }).thenNothing();
  });

  it('records a printer state only when it changed', () => {
    const printing: PrintJobEvent = { type: 'PrinterJobStateChanged', data: { printerState: 'processing', at: t(3) } };
    spec
      .given(running())
      .when({ type: 'RecordPrinterState', data: { printerState: 'processing', now: t(3) } })
      .then(printing);
    spec.given([...running(), printing]).when({ type: 'RecordPrinterState', data: { printerState: 'processing', now: t(4) } }).thenNothing();
  });

  it('refuses printer reports on a job that is not running', () => {
    spec.given(submitted()).when({ type: 'RecordPrinterState', data: { printerState: 'processing', now: t(2) } }).thenThrows('ILLEGAL_TRANSITION');
    spec.given([]).when({ type: 'RecordPrinterAcceptance', data: { printerJobId: '1', now: t(2) } }).thenThrows('JOB_NOT_FOUND');
  });

  it('passes lifecycle commands to the shared lifecycle', () => {
    spec.given(running()).when({ type: 'CompleteJob', data: { now: t(9) } }).then({ type: 'JobCompleted', data: { partial: false, at: t(9) } });
  });
});

describe('print job view', () => {
  it('is queued until the printer works on it, printing while it does, completed at the end', () => {
    const accepted: PrintJobEvent = { type: 'PrinterJobAccepted', data: { printerJobId: '42', at: t(2) } };
    const pending: PrintJobEvent = { type: 'PrinterJobStateChanged', data: { printerState: 'pending', at: t(2) } };
    const processing: PrintJobEvent = { type: 'PrinterJobStateChanged', data: { printerState: 'processing', at: t(3) } };
    const view = (events: PrintJobEvent[]) => {
      const job = fold(events);
      return printJobView(job.lifecycle, job.print);
    };
    expect(view(submitted()).state).toBe('queued');
    expect(view([...running(), accepted, pending]).state).toBe('queued');
    expect(view([...running(), accepted, processing]).state).toBe('printing');
    // The printer's final state is recorded a moment before the job's end: still printing, never queued again.
    const printerDone: PrintJobEvent = { type: 'PrinterJobStateChanged', data: { printerState: 'completed', at: t(7) } };
    expect(view([...running(), accepted, processing, printerDone]).state).toBe('printing');
    const done = view([...running(), accepted, processing, { type: 'JobCompleted', data: { partial: false, at: t(8) } }]);
    // The reference example, field for field.
    expect(done).toEqual({
      jobId: 'pj_a8f3e1b2',
      printer: 'ProxyBox_Labels',
      target: 'tag_LABELS',
      title: 'Shipping Label #1234',
      source: 'my-erp',
      contentType: 'raw_base64',
      size: 1024,
      state: 'completed',
      error: null,
      createdAt: '2026-03-28T14:30:00.000Z',
      completedAt: '2026-03-28T14:30:08.000Z',
      cupsJobId: 'ProxyBox_Labels-42',
    });
  });

  it('reads a raw socket job as printing while it is written', () => {
    expect(printJobView(fold(running('socket://127.0.0.1:9100')).lifecycle, fold(running('socket://127.0.0.1:9100')).print).state).toBe('queued');
    const job = fold([...running('socket://127.0.0.1:9100'), { type: 'PrinterDeliveryStarted', data: { at: t(2) } }]);
    expect(printJobView(job.lifecycle, job.print).state).toBe('printing');
    expect(printJobView(job.lifecycle, job.print).cupsJobId).toBeNull();
  });

  it('shows a failure, a cancellation and an expiry as failed with a reason', () => {
    const failed = fold([...running(), { type: 'JobFailed', data: { code: 'PRINTER_REJECTED', message: 'printer on fire', at: t(5) } }]);
    expect(printJobView(failed.lifecycle, failed.print)).toMatchObject({ state: 'failed', error: 'printer on fire', completedAt: t(5) });
    const cancelled = fold([...submitted(), { type: 'JobCancelled', data: { at: t(5) } }]);
    expect(printJobView(cancelled.lifecycle, cancelled.print)).toMatchObject({ state: 'failed', error: 'Job was cancelled' });
  });
});
