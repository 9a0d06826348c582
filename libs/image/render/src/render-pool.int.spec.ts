import sharp from 'sharp';
import { threadId, Worker } from 'node:worker_threads';
import { domainFailure } from '@switchyard/contracts/testing';
import type { AdRenderRequest } from './render-ad';
import { AdRenderPool } from './render-pool';
import { productPhoto } from './testing/test-photos';

// Real worker threads: each loads render-worker.ts through @swc-node/register (nothing compiles
// TypeScript inside a jest worker thread otherwise), as the pool's bootstrap arranges.
describe('AdRenderPool', () => {
  let request: AdRenderRequest;

  beforeAll(async () => {
    request = {
      template: 'split',
      width: 1080,
      height: 1080,
      title: 'AeroSound Pro Wireless Headphones',
      bullets: ['40h battery life', 'Active noise cancelling'],
      brandColors: { primary: '#0f4c81', secondary: '#ff9900' },
      photo: await productPhoto(),
    };
  });

  describe('with two workers', () => {
    let pool: AdRenderPool;
    beforeAll(() => {
      pool = new AdRenderPool({ workers: 2 });
    });
    afterAll(() => pool.close());

    it('renders several ads at once in two threads off the main one, queueing the rest', async () => {
      const templates = ['hero', 'split', 'badge', 'hero', 'split', 'badge'];
      const renders = templates.map((template) => pool.render({ ...request, template }));
      expect(pool.stats()).toMatchObject({ workers: 2, busy: 2, queued: 4 });
      const pngs = await Promise.all(renders);
      for (const png of pngs) expect(await sharp(png).metadata()).toMatchObject({ format: 'png', width: 1080, height: 1080 });
      const { threadIds, busy, queued } = pool.stats();
      expect({ busy, queued }).toEqual({ busy: 0, queued: 0 });
      expect(new Set(threadIds).size).toBe(2);
      expect(threadIds).not.toContain(threadId);
    });

    it("leaves the caller's photo usable (copied once, then transferred)", async () => {
      const before = Buffer.from(request.photo);
      await pool.render(request);
      expect(request.photo.equals(before)).toBe(true);
    });

    it('brings a worker failure back as the DomainError with its code', async () => {
      expect((await domainFailure(pool.render({ ...request, template: 'carousel' }))).code).toBe('UNKNOWN_TEMPLATE');
      const undecodable = await domainFailure(pool.render({ ...request, photo: Buffer.from('definitely not a picture') }));
      expect(undecodable.code).toBe('IMAGE_DECODE_FAILED');
      expect(undecodable.message).toMatch(/could not be decoded/);
    });

    it('times a slow render out with RENDER_TIMEOUT, replaces its worker, and goes on rendering', async () => {
      await pool.render(request); // both workers warm, so the 1 ms below times the render alone
      const before = pool.stats();
      const error = await domainFailure(pool.render(request, { timeoutMs: 1 }));
      expect(error.code).toBe('RENDER_TIMEOUT');
      const after = pool.stats();
      expect(after.replaced).toBe(before.replaced + 1);
      expect(after.workers).toBe(2);
      expect(after.threadIds.filter((id) => !before.threadIds.includes(id))).toHaveLength(1);

      const pngs = await Promise.all([pool.render(request), pool.render(request), pool.render(request)]);
      for (const png of pngs) expect((await sharp(png).metadata()).width).toBe(1080);
    });
  });

  it("applies the pool's own timeout to every render", async () => {
    const pool = new AdRenderPool({ workers: 1, timeoutMs: 1 });
    try {
      expect((await domainFailure(pool.render(request))).code).toBe('RENDER_TIMEOUT');
      expect((await domainFailure(pool.render(request))).code).toBe('RENDER_TIMEOUT');
      expect(pool.stats().replaced).toBe(2);
    } finally {
      await pool.close();
    }
  });

  it('on close, lets the running render finish, fails the queued ones, refuses new ones and ends its threads', async () => {
    // Each thread's terminate(), which resolves with its exit code once the thread has stopped.
    const terminate = Worker.prototype.terminate;
    const exits: Promise<number>[] = [];
    const spy = jest.spyOn(Worker.prototype, 'terminate').mockImplementation(function (this: Worker) {
      const exited = terminate.call(this);
      exits.push(exited);
      return exited;
    });
    try {
      const pool = new AdRenderPool({ workers: 1 });
      const running = pool.render(request);
      const queued = pool.render(request);
      const threads = pool.stats().threadIds;
      const closed = pool.close();
      expect((await domainFailure(queued)).code).toBe('RENDER_FAILED');
      expect((await sharp(await running).metadata()).width).toBe(1080);
      await closed;
      expect((await domainFailure(pool.render(request))).code).toBe('RENDER_FAILED');
      expect(pool.stats()).toMatchObject({ workers: 0, busy: 0, queued: 0 });
      expect(threads).toHaveLength(1);
      expect(exits).toHaveLength(threads.length);
      expect(await Promise.all(exits)).toEqual(threads.map(() => expect.any(Number)));
    } finally {
      spy.mockRestore();
    }
  });

  it('refuses a request without photo bytes before it reaches a worker', async () => {
    const pool = new AdRenderPool();
    try {
      expect((await domainFailure(pool.render({ ...request, photo: 'photo.png' as unknown as Buffer }))).code).toBe('VALIDATION_FAILED');
      expect(pool.stats().workers).toBe(0);
    } finally {
      await pool.close();
    }
  });
});
