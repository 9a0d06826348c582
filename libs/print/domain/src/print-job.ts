import {
  DomainError,
  isJobEvent,
  type Event,
  type IppJobState,
  type JobCommand,
  type JobEvent,
  type PrintEvent,
} from '@switchyard/contracts';
import { decideJob, evolveJob, initialJobState, type Decider, type JobState } from '@switchyard/jobs';
import { evolvePrint, initialPrintState, type PrintJobState } from './print-state';

/** A print job: the shared lifecycle and the printer's side, folded from one stream. */
export interface PrintJob {
  readonly lifecycle: JobState;
  readonly print: PrintJobState;
}

export type PrintCommand =
  | { type: 'RecordDocumentFetched'; data: { size: number; documentKey: string; now: string } }
  | { type: 'StartDelivery'; data: { now: string } }
  | { type: 'RecordPrinterAcceptance'; data: { printerJobId: string | null; now: string } }
  | { type: 'RecordPrinterState'; data: { printerState: IppJobState; message?: string; now: string } };

export type PrintJobCommand = JobCommand | PrintCommand;
export type PrintJobEvent = JobEvent | PrintEvent;

const PRINT_COMMAND_TYPES: readonly string[] = [
  'RecordDocumentFetched',
  'StartDelivery',
  'RecordPrinterAcceptance',
  'RecordPrinterState',
];
const isPrintCommand = (command: PrintJobCommand): command is PrintCommand => PRINT_COMMAND_TYPES.includes(command.type);

/** The printer only reports on a job that is running; anything else is a late or stray report. */
const requireRunning = (command: PrintCommand, job: PrintJob): void => {
  if (!job.lifecycle.exists) throw new DomainError('JOB_NOT_FOUND', `${command.type}: the job does not exist`);
  if (job.lifecycle.status !== 'running') {
    throw new DomainError('ILLEGAL_TRANSITION', `${command.type} is not allowed on a ${job.lifecycle.status} job`, {
      jobId: job.lifecycle.jobId,
      status: job.lifecycle.status,
    });
  }
};

function decidePrint(command: PrintCommand, job: PrintJob): PrintEvent[] {
  requireRunning(command, job);
  switch (command.type) {
    case 'RecordDocumentFetched': {
      const { size, documentKey, now } = command.data;
      if (job.print.documentKey === documentKey) return [];
      return [{ type: 'PrintDocumentFetched', data: { size, documentKey, at: now } }];
    }
    case 'StartDelivery':
      return job.print.deliveryStarted ? [] : [{ type: 'PrinterDeliveryStarted', data: { at: command.data.now } }];
    case 'RecordPrinterAcceptance': {
      const { printerJobId, now } = command.data;
      if (job.print.accepted) {
        if (job.print.printerJobId === printerJobId) return [];
        throw new DomainError('ILLEGAL_TRANSITION', 'the printer already accepted this job under another id', {
          jobId: job.lifecycle.jobId,
          printerJobId: job.print.printerJobId,
        });
      }
      return [{ type: 'PrinterJobAccepted', data: { printerJobId, at: now } }];
    }
    case 'RecordPrinterState': {
      const { printerState, message, now } = command.data;
      if (job.print.printerState === printerState && (job.print.printerMessage ?? undefined) === message) return [];
      return [
        {
          type: 'PrinterJobStateChanged',
          data: message === undefined ? { printerState, at: now } : { printerState, message, at: now },
        },
      ];
    }
  }
}

export const initialPrintJob = (): PrintJob => ({ lifecycle: initialJobState(), print: initialPrintState() });

export const evolvePrintJob = (job: PrintJob, event: Event): PrintJob =>
  isJobEvent(event)
    ? { lifecycle: evolveJob(job.lifecycle, event), print: job.print }
    : { lifecycle: job.lifecycle, print: evolvePrint(job.print, event) };

export const decidePrintJob = (command: PrintJobCommand, job: PrintJob): PrintJobEvent[] =>
  isPrintCommand(command) ? decidePrint(command, job) : decideJob(command, job.lifecycle);

/** The print kind's decider: the shared lifecycle's commands plus the printer's reports. */
export const printJobDecider: Decider<PrintJobCommand, PrintJobEvent, PrintJob> = {
  decide: decidePrintJob,
  evolve: evolvePrintJob,
  initialState: initialPrintJob,
};
