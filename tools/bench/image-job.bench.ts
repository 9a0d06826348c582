/**
 * The end-to-end time of a 10-image job, as its user sees it: from the POST to
 * /v1/api/listing-builder until GET /v1/api/jobs/{id} says `completed`, polled every 20 ms. Ten
 * 1080×1080 variants over the three templates, one base64 photo. Run on the embedded mode (one
 * process, PGlite) and on the distributed mode (gateway + imagegen on PostgreSQL and NATS), with
 * the image service's default two render threads; one warm-up job, then five timed rounds.
 *
 *   npm run bench:image-job              (5 rounds)
 *   npm run bench:image-job -- --quick   (2 rounds)
 *   ... --out FILE   writes the results as JSON there (default bench-results/image-job-<time>.json)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { apiClient, grantDefaultOrgCredits, startDistributed, startEmbedded } from '@switchyard/platform/testing';

const quick = process.argv.includes('--quick');
const outIndex = process.argv.indexOf('--out');
const outFile = outIndex > 0 ? process.argv[outIndex + 1] : join('bench-results', `image-job-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
const rounds = quick ? 2 : 5;
const VARIANTS = 10;
const TEMPLATES = ['hero', 'split', 'badge'];

interface Result {
  mode: 'embedded' | 'distributed';
  seconds: { min: number; median: number; max: number };
  imagesPerSecond: number;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

async function timeOneJob(baseUrl: string, key: string, photo: string, asin: string): Promise<number> {
  const api = apiClient(baseUrl, key);
  const started = performance.now();
  const submitted = await api.post('/v1/api/listing-builder', {
    asin,
    title: 'Insulated steel bottle, 750 ml',
    bullet_points: ['Keeps drinks cold for 24 hours', 'Leak-proof lid', 'Dishwasher safe'],
    image_base64: photo,
    brand_colors: { primary: '#0f766e', secondary: '#fbbf24' },
    variants: Array.from({ length: VARIANTS }, (_, i) => ({ template: TEMPLATES[i % TEMPLATES.length], size: '1080x1080' })),
  });
  if (submitted.status !== 202) throw new Error(`submit answered ${submitted.status}: ${JSON.stringify(submitted.body)}`);
  const jobId = submitted.body['id'] as string;
  for (;;) {
    const job = (await api.get(`/v1/api/jobs/${jobId}`)).body;
    if (job['status'] === 'completed') break;
    if (job['status'] === 'failed') throw new Error(`job ${jobId} failed: ${JSON.stringify(job)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const seconds = (performance.now() - started) / 1000;
  const rendered = (await api.get(`/v1/api/jobs/${jobId}`)).body['output'].ads.filter((ad: { preview_url: string | null }) => ad.preview_url).length;
  if (rendered !== VARIANTS) throw new Error(`job ${jobId} rendered ${rendered} of ${VARIANTS}`);
  return seconds;
}

async function measure(mode: Result['mode'], baseUrl: string, key: string, photo: string): Promise<Result> {
  const api = apiClient(baseUrl, key);
  const granted = await grantDefaultOrgCredits(api, VARIANTS * (rounds + 1), 'bench');
  if (granted !== 201) throw new Error(`granting credits answered ${granted}`);
  await timeOneJob(baseUrl, key, photo, 'B0BENCHWRM');
  const times: number[] = [];
  for (let round = 0; round < rounds; round++) times.push(await timeOneJob(baseUrl, key, photo, `B0BENCHR0${round}`));
  const seconds = { min: Math.min(...times), median: median(times), max: Math.max(...times) };
  return { mode, seconds, imagesPerSecond: VARIANTS / seconds.median };
}

async function main(): Promise<void> {
  const photo = (await sharp({ create: { width: 900, height: 900, channels: 4, background: '#2e3440' } }).png().toBuffer()).toString('base64');
  const results: Result[] = [];

  const embedded = await startEmbedded({ LOG_LEVEL: 'warn' });
  try {
    results.push(await measure('embedded', embedded.baseUrl, embedded.adminKey, photo));
  } finally {
    await embedded.stop();
  }
  const distributed = await startDistributed({ image: {} });
  try {
    results.push(await measure('distributed', distributed.gatewayUrl, distributed.adminKey, photo));
  } finally {
    await distributed.stop();
  }

  const pad = (value: string | number, width: number): string => String(value).padStart(width);
  console.log(`\n${VARIANTS}-image job (1080×1080), ${rounds} rounds, ${availableParallelism()} CPUs, 2 render threads`);
  console.log(`${pad('mode', 12)} ${pad('min s', 7)} ${pad('median s', 9)} ${pad('max s', 7)} ${pad('img/s', 7)}`);
  for (const { mode, seconds, imagesPerSecond } of results) {
    console.log(`${pad(mode, 12)} ${pad(seconds.min.toFixed(2), 7)} ${pad(seconds.median.toFixed(2), 9)} ${pad(seconds.max.toFixed(2), 7)} ${pad(imagesPerSecond.toFixed(1), 7)}`);
  }
  mkdirSync(dirname(outFile as string), { recursive: true });
  writeFileSync(outFile as string, JSON.stringify({ variants: VARIANTS, rounds, cpus: availableParallelism(), node: process.version, results }, null, 2));
  console.log(`\nwritten to ${outFile}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
