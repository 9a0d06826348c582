export * from './create-gateway-app';
export * from './gateway-deps';
export * from './gateway.module';
export { UNIFIED_HTTP_STATUS, PRINT_ERRORS, ERROR_DIALECTS, type ErrorDialect } from './errors/dialects';
export { toApiFailure, type ApiFailure } from './errors/api-failure';
export { presentedKey } from './http/api-key.guard';
export type { JobResponse } from './job-access';
export type { JobEventView } from './unified/job-event-streams';
export type { PrintEnvelope } from './print-dialect/print-envelope';
