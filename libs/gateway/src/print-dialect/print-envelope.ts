import type { PrintJobContent } from '@switchyard/print/domain';

/** The print dialect's success envelope, exactly as print-jobs.txt shows it. */
export interface PrintEnvelope {
  status: 'success';
  statusCode: 200;
  result: { module: string; message: string; content: PrintJobContent };
}

export const printEnvelope = (module: string, message: string, content: PrintJobContent): PrintEnvelope => ({
  status: 'success',
  statusCode: 200,
  result: { module, message, content },
});
