import { z } from 'zod';
import { printRequestSchema } from '@switchyard/contracts';

/** `POST /v1/jobs/print`: the print dialect's body, with the target in it instead of the path. */
export const printSubmissionSchema = printRequestSchema.omit({ wait: true }).extend({
  target: z.string().min(1, 'target must not be empty').max(255),
});

/** What the print service's `submit` takes: the request as the client meant it, without `wait`. */
export const printSubmitPayload = (
  target: string,
  request: { content: string; contentType: string; title?: string | undefined; source?: string | undefined },
): { target: string; request: Record<string, string> } => ({
  target,
  request: {
    content: request.content,
    contentType: request.contentType,
    ...(request.title === undefined ? {} : { title: request.title }),
    ...(request.source === undefined ? {} : { source: request.source }),
  },
});
