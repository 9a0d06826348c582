import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { DomainError, imageRequestSchema, type ImageJobType, type Principal } from '@switchyard/contracts';
import { jobVisibleTo } from '@switchyard/jobs';
import { JobReader, listJobs } from '@switchyard/jobs-read-model';
import { imageJobFromRecord, imageJobView, type ImageJob, type ImageJobView } from '@switchyard/image/domain';
import { GATEWAY_CONFIG, GATEWAY_DEPS, type GatewayConfig, type GatewayDeps, type UrlSigner } from '../gateway-deps';
import { PublicRoute } from '../http/api-key.guard';
import { Caller, CorrelationId } from '../http/request-context';
import { idempotencyKeySchema, parseInput } from '../http/validation';
import { SERVICE_FOR_KIND } from '../job-access';
import { ApiZodBody } from '../openapi';

const imageFileSchema = z.string().regex(/^\d{1,3}\.png$/, 'an image is <index>.png');

/** The image dialect, as image-generation-jobs.txt (`/v1/api`). Errors: `{error: {code, message}}`. */
@ApiTags('image')
@ApiSecurity('api-key')
@Controller('v1/api')
export class ImageDialectController {
  constructor(
    @Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly jobs: JobReader,
  ) {}

  @Post('listing-builder')
  @HttpCode(202)
  @ApiOperation({ summary: 'Listing Builder: ad creatives for a product; each image costs credits, debited now' })
  @ApiZodBody(imageRequestSchema)
  listingBuilder(
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Caller() principal: Principal,
    @CorrelationId() correlationId: string,
    @Req() request: FastifyRequest,
  ): Promise<ImageJobView> {
    return this.submit('Listing Builder', body, idempotencyKey, principal, correlationId, request);
  }

  @Post('scale')
  @HttpCode(202)
  @ApiOperation({ summary: 'Scale: the same product at the sizes a listing needs' })
  @ApiZodBody(imageRequestSchema)
  scale(
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Caller() principal: Principal,
    @CorrelationId() correlationId: string,
    @Req() request: FastifyRequest,
  ): Promise<ImageJobView> {
    return this.submit('Scale', body, idempotencyKey, principal, correlationId, request);
  }

  @Get('jobs')
  @ApiOperation({ summary: "A product's jobs, by ASIN, newest first" })
  async byAsin(@Query('asin') asin: unknown, @Caller() principal: Principal, @Req() request: FastifyRequest): Promise<{ jobs: ImageJobView[] }> {
    const wanted = parseInput(z.string().regex(/^[A-Z0-9]{10}$/, 'asin is 10 letters and digits'), asin, 'asin');
    const page = await listJobs(this.deps.db, { principal, kind: 'image', externalId: wanted, limit: 200 });
    return { jobs: page.jobs.map((record) => this.view(imageJobFromRecord(record.lifecycle, record.kindState), request)) };
  }

  @Get('jobs/:job_id')
  @ApiOperation({ summary: 'An image job and, once completed, its ads' })
  async job(@Param('job_id') jobId: string, @Caller() principal: Principal, @Req() request: FastifyRequest): Promise<ImageJobView> {
    return this.view(await this.visible(principal, jobId), request);
  }

  /** A generated image, behind its signed link: no key needed, the signature is the permission. */
  @PublicRoute()
  @Get('jobs/:job_id/images/:file')
  @ApiOperation({ summary: 'A generated image (the preview_url link); 403 once tampered with or expired' })
  async image(
    @Param('job_id') jobId: string,
    @Param('file') file: string,
    @Query() query: { expires?: string; signature?: string },
    @Res() reply: FastifyReply,
  ): Promise<void> {
    this.signer().verify(imagePath(jobId, file), query);
    const index = Number.parseInt(parseInput(imageFileSchema, file, 'file'), 10);
    const record = await this.jobs.find(jobId);
    const job = record && record.lifecycle.kind === 'image' ? imageJobFromRecord(record.lifecycle, record.kindState) : null;
    const variant = job?.variants[index];
    if (!variant || variant.status !== 'rendered' || !this.deps.blobs) throw new DomainError('NOT_FOUND', 'no such image');
    const blob = await this.deps.blobs.get(variant.outputKey);
    if (!blob) throw new DomainError('NOT_FOUND', 'the image is no longer stored');
    await reply.header('content-type', 'image/png').header('cache-control', 'private, max-age=3600').send(blob.bytes);
  }

  private async submit(
    jobType: ImageJobType,
    body: unknown,
    idempotencyKeyHeader: string | undefined,
    principal: Principal,
    correlationId: string,
    request: FastifyRequest,
  ): Promise<ImageJobView> {
    const idempotencyKey = parseInput(idempotencyKeySchema, idempotencyKeyHeader, 'Idempotency-Key');
    const answer = await this.deps.commands.send<{ imageJob: ImageJob }>(SERVICE_FOR_KIND.image, 'submit', {
      principal,
      correlationId,
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      payload: { jobType, request: body },
    });
    return this.view(answer.imageJob, request);
  }

  private async visible(principal: Principal, jobId: string): Promise<ImageJob> {
    const record = await this.jobs.find(jobId);
    if (!record || record.lifecycle.kind !== 'image' || !jobVisibleTo(principal, record.lifecycle)) {
      throw new DomainError('JOB_NOT_FOUND', 'Job not found or does not belong to your organization', { jobId });
    }
    return imageJobFromRecord(record.lifecycle, record.kindState);
  }

  /** Links expire a fixed time after the job completed (7 days unless configured). */
  private view(job: ImageJob, request: FastifyRequest): ImageJobView {
    const jobId = job.lifecycle.jobId as string;
    const completed = job.lifecycle.finishedAt === null ? Date.now() : Date.parse(job.lifecycle.finishedAt);
    const expiresAt = new Date(completed + this.config.previewTtlMs);
    const origin = `${request.protocol}://${request.headers.host ?? 'localhost'}`;
    return imageJobView(job, (index) => `${origin}${this.signer().sign(imagePath(jobId, `${index}.png`), expiresAt)}`);
  }

  private signer(): UrlSigner {
    if (!this.deps.urlSigner) throw new DomainError('SERVICE_UNAVAILABLE', 'image links are not configured here');
    return this.deps.urlSigner;
  }
}

const imagePath = (jobId: string, file: string): string => `/v1/api/jobs/${encodeURIComponent(jobId)}/images/${encodeURIComponent(file)}`;
