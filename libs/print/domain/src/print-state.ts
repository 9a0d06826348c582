import { type Event, type IppJobState, type PrintEvent } from '@switchyard/contracts';

/** What a print job knows beyond the shared lifecycle: the printer's side of it. */
export interface PrintJobState {
  /** The printer's own job id (IPP job-id); null for a raw socket or before acceptance. */
  readonly printerJobId: string | null;
  /** Sending began (bytes may have reached the printer even if it never said so). */
  readonly deliveryStarted: boolean;
  readonly accepted: boolean;
  readonly printerState: IppJobState | null;
  readonly printerMessage: string | null;
  /** For a URL document: where the fetched bytes are kept, and their size. */
  readonly documentKey: string | null;
  readonly fetchedSize: number | null;
}

export const initialPrintState = (): PrintJobState => ({
  printerJobId: null,
  deliveryStarted: false,
  accepted: false,
  printerState: null,
  printerMessage: null,
  documentKey: null,
  fetchedSize: null,
});

export const PRINT_EVENT_TYPES_LIST = [
  'PrintDocumentFetched',
  'PrinterDeliveryStarted',
  'PrinterJobAccepted',
  'PrinterJobStateChanged',
] as const;

export const isPrintEvent = (event: Event): event is PrintEvent & Event =>
  (PRINT_EVENT_TYPES_LIST as readonly string[]).includes(event.type);

export function evolvePrint(state: PrintJobState, event: Event): PrintJobState {
  if (!isPrintEvent(event)) return state;
  const fact = event as PrintEvent;
  switch (fact.type) {
    case 'PrintDocumentFetched':
      return { ...state, documentKey: fact.data.documentKey, fetchedSize: fact.data.size };
    case 'PrinterDeliveryStarted':
      return { ...state, deliveryStarted: true };
    case 'PrinterJobAccepted':
      return { ...state, accepted: true, printerJobId: fact.data.printerJobId };
    case 'PrinterJobStateChanged':
      return { ...state, printerState: fact.data.printerState, printerMessage: fact.data.message ?? null };
  }
}

/** The print kind's model for the jobs read model (structurally a JobKindModel). */
export const printKindModel = {
  kind: 'print' as const,
  eventTypes: PRINT_EVENT_TYPES_LIST,
  initialState: initialPrintState,
  evolve: (state: unknown, event: Event): PrintJobState => evolvePrint(state as PrintJobState, event),
  // A small document travels in the input itself (up to 4 KiB, base64): the printer gets it from
  // the job's first event, and no view shows it, so the row goes without.
  rowInput: ({ document: _document, ...kept }: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> => kept,
};

