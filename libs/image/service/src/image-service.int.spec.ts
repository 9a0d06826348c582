import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { sql } from 'kysely';
import type { CommandEnvelope, Principal } from '@switchyard/contracts';
import { PostgresEventStore } from '@switchyard/event-store';
import { createPostgresTestDatabase, eventually, type TestDatabase } from '@switchyard/event-store/testing';
import { CreditsLedger, creditsMigrations, creditsProjection, retryOnVersionConflict } from '@switchyard/credits';
import { jobLeasesProjection, jobRuntimeMigrations } from '@switchyard/job-runtime';
import { createJobsProjection, jobsReadModelMigrations } from '@switchyard/jobs-read-model';
import { InProcessEventConsumers, messagingMigrations } from '@switchyard/messaging';
import { imageJobView, imageKindModel, type ImageJob } from '@switchyard/image/domain';
import { AdRenderPool, TEMPLATES } from '@switchyard/image/render';
import { PostgresBlobStore, storageMigrations } from '@switchyard/storage';
import { createImageService, imageConfigSchema, type ImageService } from './image-service';
import type { SubmitImages } from './image-jobs';

const principal = (orgId: string): Principal => ({ orgId, userId: `${orgId}-user`, role: 'curator', keyId: 'k' });
const envelope = (orgId: string, payload: SubmitImages, idempotencyKey?: string): CommandEnvelope<SubmitImages> => ({
  principal: principal(orgId),
  correlationId: 'test',
  payload,
  ...(idempotencyKey ? { idempotencyKey } : {}),
});

// The image service in process on the real PostgreSQL, rendering with the real renderer.
describe('image service', () => {
  let database: TestDatabase;
  let store: PostgresEventStore;
  let ledger: CreditsLedger;
  let renderer: AdRenderPool;
  let service: ImageService;
  let blobs: PostgresBlobStore;
  let photo: string;
  let photos: http.Server;
  let photoUrl: string;

  beforeAll(async () => {
    const png = await sharp({ create: { width: 800, height: 600, channels: 4, background: { r: 200, g: 80, b: 40, alpha: 1 } } }).png().toBuffer();
    photo = png.toString('base64');
    photos = http.createServer((_, response) => response.writeHead(200, { 'content-type': 'image/png' }).end(png));
    await new Promise<void>((resolve) => photos.listen(0, '127.0.0.1', resolve));
    photoUrl = `http://127.0.0.1:${(photos.address() as AddressInfo).port}/shoe.png`;
    database = await createPostgresTestDatabase('image_service', {
      ...jobsReadModelMigrations,
      ...jobRuntimeMigrations,
      ...storageMigrations,
      ...messagingMigrations,
      ...creditsMigrations,
    }, 40);
    store = new PostgresEventStore(database.db as never, { projections: [createJobsProjection([imageKindModel]), creditsProjection, jobLeasesProjection] });
    ledger = new CreditsLedger(store, database.db);
    blobs = new PostgresBlobStore(database.db);
    renderer = new AdRenderPool({ workers: 2, timeoutMs: 20_000 });
    service = createImageService({
      store,
      db: database.db,
      blobs,
      consumers: new InProcessEventConsumers({ store, subscription: { idlePollMs: 10 } }),
      renderer,
      templates: TEMPLATES,
      credits: ledger,
      retryOnConflict: (work) => retryOnVersionConflict(work),
      config: imageConfigSchema.parse({ IMAGE_CREDITS_PER_IMAGE: '2', IMAGE_ALLOWED_URL_RANGES: '127.0.0.1/32', IMAGE_LEASE_MS: '2000' }),
    });
    await service.start();
  }, 60_000);

  afterAll(async () => {
    await service?.stop();
    await renderer?.close();
    await store?.close().catch(() => undefined);
    await database?.dispose();
    photos?.close();
  });

  const finished = (orgId: string, jobId: string) =>
    eventually(async () => {
      const job = await service.jobs.view(principal(orgId), jobId);
      return job.lifecycle.finishedAt ? job : undefined;
    }, { timeoutMs: 60_000, message: `${jobId} finished` });
  const view = (job: ImageJob) => imageJobView(job, (index) => `/images/${index}.png`);

  it('renders 4 variants, one with a photo that is not an image: completed, that one refunded, the balance exact', async () => {
    await ledger.grant('org-a', 100, 'admin');
    const { imageJob } = await service.jobs.submit(
      envelope('org-a', {
        jobType: 'Scale',
        request: {
          asin: 'B0CXYZ1234',
          title: 'Trail running shoe, light and grippy',
          bullet_points: ['Weighs 220 g', 'Grips wet rock', 'Recycled upper'],
          image_base64: photo,
          brand_colors: { primary: '#1d4ed8', secondary: '#f59e0b', text: '#ffffff' },
          variants: [
            { template: TEMPLATES[0], size: '1080x1080' },
            { template: TEMPLATES[1], size: '1200x628', image_base64: Buffer.from('this is not an image').toString('base64') },
            { template: TEMPLATES[2], size: '1080x1920' },
            { template: TEMPLATES[0], size: '1200x628', image_url: photoUrl },
          ],
        },
      }),
    );
    expect((await ledger.balance('org-a')).balance).toBe(100 - 8);
    const done = view(await finished('org-a', imageJob.lifecycle.jobId as string));
    expect(done).toMatchObject({ status: 'completed', job_type: 'Scale', credit_cost: 8, credits_refunded: 2, error_code: null });
    const ads = done.output?.ads ?? [];
    expect(ads.map((ad) => ad.preview_url === null)).toEqual([false, true, false, false]);
    expect(ads[1]?.error?.code).toBe('IMAGE_DECODE_FAILED');
    const balance = await ledger.balance('org-a');
    expect(balance).toEqual({ balance: 100 - 8 + 2, granted: 100, debited: 8, refunded: 2 });

    const job = await service.jobs.view(principal('org-a'), imageJob.lifecycle.jobId as string);
    const sizes = [[1080, 1080], null, [1080, 1920], [1200, 628]];
    for (const [index, variant] of job.variants.entries()) {
      if (variant.status !== 'rendered') continue;
      const image = await blobs.get(variant.outputKey);
      const meta = await sharp(image?.bytes).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['png', ...(sizes[index] as number[])]);
    }
  }, 90_000);

  it('accepts exactly the jobs that fit when 20 race for the last 5 credits', async () => {
    await ledger.grant('org-b', 10, 'admin');
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        service.jobs.submit(
          envelope('org-b', {
            jobType: 'Listing Builder',
            request: { asin: 'B0RACE0001', title: `race ${i}`, image_base64: photo, brand_colors: { primary: '#111111' }, number_of_images: 1 },
          }),
        ),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    for (const refused of results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')) {
      expect(refused.reason).toMatchObject({ code: 'INSUFFICIENT_CREDITS' });
    }
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM jobs WHERE org_id = 'org-b'`.execute(database.db);
    expect(rows[0]?.n).toBe(5);
    const balance = await ledger.balance('org-b');
    expect(balance.balance).toBeGreaterThanOrEqual(0);
    expect(balance.granted - balance.debited + balance.refunded).toBe(balance.balance);
  }, 60_000);

  it('refuses before debiting: too few credits, an unknown template, a private photo URL', async () => {
    await ledger.grant('org-c', 1, 'admin');
    const request = { asin: 'B0CXYZ0000', title: 'x', image_base64: photo, brand_colors: { primary: '#111111' } };
    await expect(service.jobs.submit(envelope('org-c', { jobType: 'Listing Builder', request: { ...request, number_of_images: 2 } }))).rejects.toMatchObject({
      code: 'INSUFFICIENT_CREDITS',
    });
    await expect(
      service.jobs.submit(envelope('org-c', { jobType: 'Listing Builder', request: { ...request, variants: [{ template: 'nope', size: '1080x1080' }] } })),
    ).rejects.toMatchObject({ code: 'UNKNOWN_TEMPLATE' });
    await expect(
      service.jobs.submit(envelope('org-c', { jobType: 'Listing Builder', request: { ...request, image_base64: undefined, image_url: 'http://10.0.0.1/x.png' } })),
    ).rejects.toMatchObject({ code: 'URL_NOT_ALLOWED' });
    expect(await ledger.balance('org-c')).toMatchObject({ balance: 1, debited: 0 });
  });
});
