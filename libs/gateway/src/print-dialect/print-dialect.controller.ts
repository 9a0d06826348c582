import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Res } from '@nestjs/common';
import { ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { parsePrintRequest, printRequestSchema, type Principal } from '@switchyard/contracts';
import { jobVisibleTo } from '@switchyard/jobs';
import { JobReader, type JobRecord } from '@switchyard/jobs-read-model';
import type { PrintJobContent } from '@switchyard/print/domain';
import { printDetails, type PrintJobDetails } from '@switchyard/print/service';
import { GATEWAY_CONFIG, GATEWAY_DEPS, type GatewayConfig, type GatewayDeps } from '../gateway-deps';
import { AppShutdown } from '../http/app-shutdown';
import { Caller, CorrelationId } from '../http/request-context';
import { idempotencyKeySchema, parseInput } from '../http/validation';
import { jobNotFound, SERVICE_FOR_KIND } from '../job-access';
import { ApiZodBody } from '../openapi';
import { clientGone, pause } from '../pause';
import { printSubmitPayload } from '../print-request';
import { printEnvelope, type PrintEnvelope } from './print-envelope';

const ended = (content: PrintJobContent): boolean => content.state === 'completed' || content.state === 'failed';

const submittedMessage = (content: PrintJobContent): string =>
  content.state === 'completed' ? 'Job completed.' : content.state === 'failed' ? 'Job failed.' : 'Job submitted.';

/** The print dialect, field for field as print-jobs.txt (`/api/v1`). */
@ApiTags('print')
@ApiSecurity('api-key')
@Controller('api/v1')
export class PrintDialectController {
  constructor(
    @Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly shutdown: AppShutdown,
    private readonly jobs: JobReader,
  ) {}

  @Post('print/:target')
  @HttpCode(200)
  @ApiOperation({ summary: 'Print a document on a printer path or a tag_<NAME>; wait: true holds the answer until it ends' })
  @ApiZodBody(printRequestSchema)
  async print(
    @Param('target') target: string,
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKeyHeader: string | undefined,
    @Caller() principal: Principal,
    @CorrelationId() correlationId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PrintEnvelope> {
    const { wait, ...request } = parsePrintRequest(printRequestSchema, body);
    const idempotencyKey = parseInput(idempotencyKeySchema, idempotencyKeyHeader, 'Idempotency-Key');
    const details = await this.deps.commands.send<PrintJobDetails>(SERVICE_FOR_KIND.print, 'submit', {
      principal,
      correlationId,
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      payload: printSubmitPayload(target, request),
    });
    const content = wait ? await this.untilEnded(details.print, reply) : details.print;
    return printEnvelope(`/print/${target}`, submittedMessage(content), content);
  }

  @Get('jobs/:jobId')
  @ApiOperation({ summary: 'A print job; served for an hour after it ends' })
  async job(@Param('jobId') jobId: string, @Caller() principal: Principal): Promise<PrintEnvelope> {
    const record = await this.jobs.find(jobId);
    if (!record || !this.served(record, principal)) throw jobNotFound(jobId);
    return printEnvelope(`/jobs/${jobId}`, 'Job retrieved.', printDetails(record).print);
  }

  /** Another organization's job, another member's, another kind's, or one ended too long ago: not found. */
  private served(record: JobRecord, principal: Principal): boolean {
    const { lifecycle } = record;
    if (lifecycle.kind !== 'print' || !jobVisibleTo(principal, lifecycle)) return false;
    return lifecycle.finishedAt === null || Date.now() - Date.parse(lifecycle.finishedAt) < this.config.printJobRetentionMs;
  }

  /** Polls the read model until the print job ends, the cap passes, the client leaves or the app closes; the state then. */
  private async untilEnded(submitted: PrintJobContent, reply: FastifyReply): Promise<PrintJobContent> {
    const deadline = Date.now() + this.config.waitCapMs;
    const gone = clientGone(reply.raw, this.shutdown.signal);
    let content = submitted;
    try {
      while (!ended(content) && !gone.signal.aborted) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        await pause(Math.min(this.config.streamPollMs, left), gone.signal);
        const record = await this.jobs.find(submitted.jobId);
        if (record) content = printDetails(record).print;
      }
      return content;
    } finally {
      gone.release();
    }
  }
}
