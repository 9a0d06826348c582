import type { ErrorCode } from '@switchyard/contracts';
import type { AdRenderRequest } from './render-ad';

/** What AdRenderPool posts to a render worker: one ad, its photo bytes transferred with it. */
export interface RenderTask {
  id: number;
  request: Omit<AdRenderRequest, 'photo'> & { photo: Uint8Array };
}

/** A DomainError as it crosses the thread boundary (structured clone keeps no class). */
export interface RenderFailure {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

/** What a render worker posts back: the PNG bytes (transferred), or why there are none. */
export type RenderOutcome = { id: number; ok: true; png: Uint8Array } | { id: number; ok: false; error: RenderFailure };
