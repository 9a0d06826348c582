import sharp from 'sharp';
import { SignedUrls } from '@switchyard/storage';
import { apiClient, grantDefaultOrgCredits, startEmbedded, type Embedded } from '@switchyard/platform/testing';

const SECRET = 'e2e-signing-secret-0123456789abcdef0123456789';

// Image generation in the embedded mode, over HTTP as its users drive it.
describe('image generation, embedded', () => {
  let platform: Embedded;
  let baseUrl: string;
  let adminKey: string;

  beforeAll(async () => {
    platform = await startEmbedded({ SWITCHYARD_URL_SIGNING_SECRET: SECRET, IMAGE_CREDITS_PER_IMAGE: '3' });
    ({ baseUrl, adminKey } = platform);
  }, 90_000);

  afterAll(() => platform?.stop());

  it('renders 4 ads with one bad photo: completed, that one refunded, the others real images behind signed links', async () => {
    const api = apiClient(baseUrl, adminKey);
    expect(await grantDefaultOrgCredits(api, 100, 'e2e')).toBe(201);

    const photo = (await sharp({ create: { width: 600, height: 600, channels: 3, background: '#c0392b' } }).png().toBuffer()).toString('base64');
    const submitted = await api.post('/v1/api/listing-builder', {
      asin: 'B0E2EIMAGE',
      title: 'Insulated steel bottle',
      bullet_points: ['Keeps cold 24 h', 'Leak-proof lid'],
      image_base64: photo,
      brand_colors: { primary: '#0f766e', secondary: '#fbbf24' },
      variants: [
        { template: 'hero', size: '1080x1080' },
        { template: 'split', size: '1200x628' },
        { template: 'badge', size: '1080x1920', image_base64: Buffer.from('not an image').toString('base64') },
        { template: 'hero', size: '1200x628' },
      ],
    });
    expect(submitted.status).toBe(202);
    expect(submitted.body).toMatchObject({ job_type: 'Listing Builder', credit_cost: 12, credits_refunded: 0, output: null });
    // The worker may have taken it already by the time the answer is read.
    expect(['pending', 'processing']).toContain(submitted.body['status']);
    const jobId = submitted.body['id'] as string;

    let job = submitted.body;
    const deadline = Date.now() + 60_000;
    while (job['status'] !== 'completed' && job['status'] !== 'failed' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      job = (await api.get(`/v1/api/jobs/${jobId}`)).body;
    }
    expect(job).toMatchObject({ status: 'completed', credit_cost: 12, credits_refunded: 3, error_code: null });
    for (const field of ['created_at', 'started_at', 'completed_at']) expect(typeof job[field]).toBe('string');
    const ads = job['output'].ads as { preview_url: string | null; error: { code: string } | null }[];
    expect(ads.map((ad) => ad.preview_url === null)).toEqual([false, false, true, false]);
    expect(ads[2]?.error?.code).toBe('IMAGE_DECODE_FAILED');

    const sizes = [[1080, 1080], [1200, 628], null, [1200, 628]];
    for (const [index, ad] of ads.entries()) {
      if (!ad.preview_url) continue;
      const response = await fetch(ad.preview_url);
      expect(response.status).toBe(200);
      const meta = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['png', ...(sizes[index] as number[])]);
      // Valid until 7 days after completion.
      const expires = Number(new URL(ad.preview_url).searchParams.get('expires')) * 1000;
      expect(Math.abs(expires - (Date.parse(job['completed_at']) + 7 * 24 * 3600 * 1000))).toBeLessThan(2_000);
    }

    // A changed signature, and a link whose lifetime is over: 403.
    const first = new URL(ads[0]?.preview_url as string);
    const tampered = new URL(first);
    tampered.searchParams.set('signature', `${first.searchParams.get('signature')?.slice(0, -2)}xx`);
    expect((await fetch(tampered)).status).toBe(403);
    const expired = `${baseUrl}${new SignedUrls(SECRET).sign(first.pathname, new Date(Date.now() - 1_000))}`;
    const refused = await fetch(expired);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('LINK_EXPIRED');

    const credits = await api.get('/v1/credits');
    expect(credits.body).toMatchObject({ balance: 100 - 12 + 3, granted: 100, debited: 12, refunded: 3 });
    expect((await api.get('/v1/api/jobs?asin=B0E2EIMAGE')).body['jobs'].map((j: { id: string }) => j.id)).toEqual([jobId]);
  }, 90_000);

  it('answers JOB_NOT_FOUND to another organization, UNAUTHORIZED without a key, INSUFFICIENT_CREDITS when short', async () => {
    const admin = apiClient(baseUrl, adminKey);
    const org = await admin.post('/v1/admin/organizations', { name: 'poorco' });
    const user = await admin.post(`/v1/admin/organizations/${org.body['id']}/users`, { name: 'pat', role: 'curator' });
    const issued = (await admin.post(`/v1/admin/users/${user.body['id']}/keys`, {})).body as { id: string; key: string };
    const key = issued.key;
    const poor = apiClient(baseUrl, key);
    const short = await poor.post('/v1/api/scale', { asin: 'B0E2EIMAGE', title: 'x', image_base64: Buffer.from('x').toString('base64'), brand_colors: { primary: '#000000' } });
    expect(short.status).toBe(402);
    expect(short.body['error'].code).toBe('INSUFFICIENT_CREDITS');
    const mine = (await admin.get('/v1/api/jobs?asin=B0E2EIMAGE')).body['jobs'][0].id as string;
    const other = await poor.get(`/v1/api/jobs/${mine}`);
    expect(other.status).toBe(404);
    expect(other.body['error'].code).toBe('JOB_NOT_FOUND');
    const anonymous = await fetch(`${baseUrl}/v1/api/jobs/${mine}`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');

    // The gateway remembers keys that worked for a few seconds, but forgets a revoked one at once.
    expect((await poor.get('/v1/credits')).status).toBe(200);
    const revoked = await fetch(`${baseUrl}/v1/admin/keys/${issued.id}`, { method: 'DELETE', headers: { 'X-API-Key': adminKey } });
    expect(revoked.status).toBe(204);
    const after = await poor.get('/v1/credits');
    expect([after.status, after.body['error']?.code]).toEqual([401, 'UNAUTHORIZED']);
  });
});
