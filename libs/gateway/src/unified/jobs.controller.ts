import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import {
  DomainError,
  isDomainError,
  isTerminalStatus,
  jobKindSchema,
  jobStatusSchema,
  jobStreamId,
  parsePrintRequest,
  type CommandEnvelope,
  type CommandName,
  type JobKind,
  type Principal,
} from '@switchyard/contracts';
import { JobReader, listJobs } from '@switchyard/jobs-read-model';
import { GATEWAY_DEPS, type GatewayDeps } from '../gateway-deps';
import { Caller, CorrelationId } from '../http/request-context';
import { idempotencyKeySchema, parseInput } from '../http/validation';
import { asJobResponse, jobResponse, SERVICE_FOR_KIND, visibleJob, type JobResponse } from '../job-access';
import { ApiZodBody, ApiZodQuery } from '../openapi';
import { printSubmissionSchema, printSubmitPayload } from '../print-request';
import { JobEventStreams, jobEventView, type JobEventView } from './job-event-streams';

// Years PostgreSQL and Date agree on: a syntactically valid year 0000 would fail in the database.
const timestamp = z.iso
  .datetime({ offset: true })
  .refine((value) => new Date(value).getUTCFullYear() >= 1, 'must be a date from year 1 on');

export const listJobsQuerySchema = z.object({
  kind: jobKindSchema.optional(),
  status: jobStatusSchema.optional(),
  createdFrom: timestamp.optional(),
  createdTo: timestamp.optional(),
  externalId: z.string().min(1).max(255).optional(),
  cursor: z.string().min(1).max(1024).optional(),
  limit: z.coerce.number().int().min(1).max(200).optional(),
});

const lastEventIdSchema = z.coerce.number().int().min(0).max(2_147_483_647);

/** Kinds whose submission body the gateway knows; the others pass a JSON object to their service. */
const genericSubmissionSchema = z.record(z.string(), z.unknown());

/** The unified API (API-DIALECTS.md, "Unified API"): every kind, one shape. */
@ApiTags('jobs')
@ApiSecurity('api-key')
@ApiBearerAuth('bearer')
@Controller('v1/jobs')
export class JobsController {
  constructor(
    @Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps,
    private readonly streams: JobEventStreams,
    private readonly jobs: JobReader,
  ) {}

  @Post(':kind')
  @HttpCode(201)
  @ApiOperation({ summary: 'Submit a job of a kind (print, image, publish, document, workflow)' })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'A retry with the same key returns the same job' })
  @ApiZodBody(printSubmissionSchema, 'For kind print; other kinds take their own JSON object')
  async submit(
    @Param('kind') kindParam: string,
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKeyHeader: string | undefined,
    @Caller() principal: Principal,
    @CorrelationId() correlationId: string,
  ): Promise<JobResponse> {
    const kind = jobKindSchema.safeParse(kindParam);
    if (!kind.success) throw new DomainError('NOT_FOUND', `no job kind ${kindParam}; kinds: ${jobKindSchema.options.join(', ')}`);
    const idempotencyKey = parseInput(idempotencyKeySchema, idempotencyKeyHeader, 'Idempotency-Key');
    let payload: unknown;
    if (kind.data === 'print') {
      const { target, ...request } = parsePrintRequest(printSubmissionSchema, body);
      payload = printSubmitPayload(target, request);
    } else {
      payload = parseInput(genericSubmissionSchema, body, 'body');
    }
    const result = await this.send(kind.data, 'submit', {
      principal,
      correlationId,
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      payload,
    });
    return asJobResponse(result);
  }

  @Get()
  @ApiOperation({ summary: 'List jobs, newest first, with cursor paging' })
  @ApiZodQuery(listJobsQuerySchema)
  async list(@Query() query: unknown, @Caller() principal: Principal): Promise<{ data: JobResponse[]; nextCursor: string | null }> {
    const filters = parseInput(listJobsQuerySchema, query, 'query');
    const page = await listJobs(this.deps.db, { principal, ...filters });
    return { data: page.jobs.map(jobResponse), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One job' })
  async get(@Param('id') jobId: string, @Caller() principal: Principal): Promise<JobResponse> {
    return jobResponse(await visibleJob(this.jobs, principal, jobId));
  }

  @Get(':id/events')
  @ApiOperation({ summary: "The job's whole event history, in order (its audit trail)" })
  async events(@Param('id') jobId: string, @Caller() principal: Principal): Promise<{ data: JobEventView[] }> {
    await visibleJob(this.jobs, principal, jobId);
    const { events } = await this.deps.store.readStream(jobStreamId(jobId));
    return { data: events.map(jobEventView) };
  }

  @Get(':id/stream')
  @ApiOperation({ summary: 'Server-sent events: every event of the job from Last-Event-ID on; closes after the job ends' })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'The last version received: resume after it' })
  async stream(
    @Param('id') jobId: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Caller() principal: Principal,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const after = lastEventId === undefined ? 0 : parseInput(lastEventIdSchema, lastEventId, 'Last-Event-ID');
    const record = await visibleJob(this.jobs, principal, jobId);
    const ended = record.lifecycle.status !== null && isTerminalStatus(record.lifecycle.status);
    await this.streams.serve(reply, jobId, after, ended);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel a job (a running one stops once its worker confirms)' })
  async cancel(
    @Param('id') jobId: string,
    @Caller() principal: Principal,
    @CorrelationId() correlationId: string,
  ): Promise<JobResponse> {
    return this.command(jobId, 'cancel', principal, correlationId);
  }

  @Post(':id/resume')
  @HttpCode(200)
  @ApiOperation({ summary: 'Resume a blocked job' })
  async resume(
    @Param('id') jobId: string,
    @Caller() principal: Principal,
    @CorrelationId() correlationId: string,
  ): Promise<JobResponse> {
    return this.command(jobId, 'resume', principal, correlationId);
  }

  private async command(jobId: string, command: CommandName, principal: Principal, correlationId: string): Promise<JobResponse> {
    const record = await visibleJob(this.jobs, principal, jobId);
    const kind = record.lifecycle.kind as JobKind;
    try {
      return asJobResponse(await this.send(kind, command, { principal, correlationId, payload: { jobId } }));
    } catch (error) {
      // The bus answers NOT_FOUND for a command the service does not have (print has no resume):
      // the job exists, so this is a transition its kind never makes, not a missing job.
      if (isDomainError(error, 'NOT_FOUND')) {
        throw new DomainError('ILLEGAL_TRANSITION', `a ${kind} job cannot be ${command === 'resume' ? 'resumed' : 'cancelled'}`, {
          jobId,
          kind,
          command,
        });
      }
      throw error;
    }
  }

  private send(kind: JobKind, command: CommandName, envelope: CommandEnvelope): Promise<unknown> {
    return this.deps.commands.send<unknown>(SERVICE_FOR_KIND[kind], command, envelope);
  }
}
