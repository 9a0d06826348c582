import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { apiClient, grantDefaultOrgCredits, startDistributed, type Distributed } from '@switchyard/platform/testing';

const PRICE = 2;

/**
 * A photo host on 127.0.0.1 that holds every request until `open()`: the image service is then
 * known to be in the middle of a job, between its rendered variants and the rest.
 */
async function startGatedPhotoHost(photo: Buffer) {
  let opened = false;
  const held = new Set<() => void>();
  let firstRequest: () => void = () => undefined;
  const requested = new Promise<void>((resolve) => (firstRequest = resolve));
  const server: Server = createServer((request, response) => {
    const answer = (): void => {
      response.writeHead(200, { 'content-type': 'image/png', 'content-length': photo.length }).end(photo);
    };
    firstRequest();
    if (opened) return answer();
    held.add(answer);
    request.socket.once('close', () => held.delete(answer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/photo.png`,
    requested,
    open(): void {
      opened = true;
      for (const answer of held) answer();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// kill -9 of the image service mid-job, then a restart: the job completes, each variant has one
// outcome, the job is debited once and refunded once.
describe('image service killed mid-job', () => {
  let platform: Distributed;
  let photoHost: Awaited<ReturnType<typeof startGatedPhotoHost>>;
  const imageEnv = {
    IMAGE_ALLOW_PRIVATE_URLS: 'true',
    IMAGE_CREDITS_PER_IMAGE: String(PRICE),
    IMAGE_RENDER_WORKERS: '1',
    // Short leases, so the restarted service takes the dead one's job over quickly.
    IMAGE_LEASE_MS: '1500',
  };

  beforeAll(async () => {
    const photo = await sharp({ create: { width: 500, height: 500, channels: 3, background: '#1d4ed8' } }).png().toBuffer();
    photoHost = await startGatedPhotoHost(photo);
    platform = await startDistributed({ image: imageEnv });
  }, 90_000);

  afterAll(async () => {
    await platform?.stop();
    await photoHost?.close();
  });

  it('completes the job after a restart, with no variant, debit or refund twice', async () => {
    const api = apiClient(platform.gatewayUrl, platform.adminKey);
    expect(await grantDefaultOrgCredits(api, 100, 'e2e')).toBe(201);

    const photo = (await sharp({ create: { width: 400, height: 400, channels: 3, background: '#15803d' } }).png().toBuffer()).toString('base64');
    // One render at a time, in order: 0 and 1 render, 2 waits on the held photo, 3 is not an image.
    const submitted = await api.post('/v1/api/listing-builder', {
      asin: 'B0CRASH001',
      title: 'Cast iron skillet',
      bullet_points: ['Pre-seasoned', 'Oven safe to 260 °C'],
      image_base64: photo,
      brand_colors: { primary: '#7c2d12', secondary: '#fde68a' },
      variants: [
        { template: 'hero', size: '1080x1080' },
        { template: 'split', size: '1200x628' },
        { template: 'badge', size: '1080x1080', image_url: photoHost.url },
        { template: 'hero', size: '1080x1920', image_base64: Buffer.from('not an image').toString('base64') },
        { template: 'split', size: '1080x1080' },
        { template: 'badge', size: '1200x628' },
      ],
    });
    expect(submitted.status).toBe(202);
    const jobId = submitted.body['id'] as string;
    const events = async (): Promise<{ type: string; data: Record<string, unknown> }[]> =>
      (await api.get(`/v1/jobs/${jobId}/events`)).body['data'];

    await photoHost.requested;
    const beforeCrash = (await events()).filter((event) => event.type === 'ImageVariantRendered').map((event) => event.data['index']);
    expect(beforeCrash).toEqual([0, 1]);
    await platform.image?.kill('SIGKILL');
    expect((await api.get(`/v1/api/jobs/${jobId}`)).body['status']).toBe('processing');

    photoHost.open();
    platform.image = await platform.startImage();
    let job = (await api.get(`/v1/api/jobs/${jobId}`)).body;
    const deadline = Date.now() + 60_000;
    while (job['status'] !== 'completed' && job['status'] !== 'failed' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      job = (await api.get(`/v1/api/jobs/${jobId}`)).body;
    }
    expect(job).toMatchObject({ status: 'completed', credit_cost: 6 * PRICE, credits_refunded: PRICE });

    const history = await events();
    const outcomes = history.filter((event) => event.type === 'ImageVariantRendered' || event.type === 'ImageVariantFailed');
    expect(outcomes.map((event) => event.data['index']).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(outcomes.find((event) => event.type === 'ImageVariantFailed')?.data).toMatchObject({ index: 3, code: 'IMAGE_DECODE_FAILED' });
    expect(history.filter((event) => event.type === 'JobStarted')).toHaveLength(1);
    expect(history.filter((event) => event.type === 'JobCompleted')).toHaveLength(1);

    const ads = job['output'].ads as { preview_url: string | null }[];
    expect(ads.map((ad) => ad.preview_url === null)).toEqual([false, false, false, true, false, false]);
    const rendered = await fetch(ads[2]?.preview_url as string);
    expect((await sharp(Buffer.from(await rendered.arrayBuffer())).metadata()).width).toBe(1080);

    const credits = (await api.get('/v1/credits')).body;
    expect(credits).toMatchObject({ balance: 100 - 6 * PRICE + PRICE, granted: 100, debited: 6 * PRICE, refunded: PRICE });
    const forJob = (credits['ledger'] as { type: string; jobId?: string; amount: number }[]).filter((entry) => entry.jobId === jobId);
    expect(forJob.map((entry) => [entry.type, entry.amount])).toEqual([
      ['CreditsDebited', 6 * PRICE],
      ['CreditsRefunded', PRICE],
    ]);
  }, 120_000);
});
