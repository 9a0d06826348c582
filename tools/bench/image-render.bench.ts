/**
 * Ad rendering throughput at 1080×1080: a fixed number of renders (hero, split and badge in turn)
 * through AdRenderPool with 1 and with 2 worker threads, three rounds each; images per second as
 * min / median / max. Workers are started and warmed before the clock runs. The photo is a
 * 900×900 PNG with transparency, made by sharp.
 *
 *   npx tsx --tsconfig tools/tsconfig.json tools/bench/image-render.bench.ts            (40 renders a round)
 *   npx tsx --tsconfig tools/tsconfig.json tools/bench/image-render.bench.ts --quick    (12 renders a round)
 *   ... --out FILE   writes the results as JSON there (default bench-results/image-render-<time>.json)
 *
 * Under tsx the pool's worker threads load their TypeScript through @swc-node/register (tsx's hooks
 * do not reach an eval'd worker), with libs/image/render/tsconfig.json for the path aliases.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { AdRenderPool, TEMPLATES, type AdRenderRequest } from '@switchyard/image/render';

const quick = process.argv.includes('--quick');
const outIndex = process.argv.indexOf('--out');
const outFile = outIndex > 0 ? process.argv[outIndex + 1] : join('bench-results', `image-render-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
const rendersPerRound = quick ? 12 : 40;
const rounds = 3;
const workerCounts = [1, 2];

interface Point {
  workers: number;
  renders: number;
  imagesPerSecond: { min: number; median: number; max: number };
  msPerImage: number;
}

async function benchPhoto(): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="900" height="900">
    <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#f4f4f4"/><stop offset="1" stop-color="#2e3440"/></linearGradient></defs>
    <rect x="200" y="110" width="500" height="680" rx="110" fill="url(#g)"/><circle cx="450" cy="380" r="140" fill="#1f2933"/></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

async function round(pool: AdRenderPool, request: Omit<AdRenderRequest, 'template'>): Promise<number> {
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: rendersPerRound }, (_, i) => pool.render({ ...request, template: TEMPLATES[i % TEMPLATES.length] as string })));
  return rendersPerRound / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function main(): Promise<void> {
  const request: Omit<AdRenderRequest, 'template'> = {
    width: 1080,
    height: 1080,
    title: 'AeroSound Pro Wireless Noise Cancelling Headphones',
    bullets: ['40h battery life', 'Active noise cancelling', 'Fast USB-C charging', 'Foldable travel design'],
    brandColors: { primary: '#0f4c81', secondary: '#ff9900' },
    photo: await benchPhoto(),
  };
  const points: Point[] = [];
  for (const workers of workerCounts) {
    const pool = new AdRenderPool({ workers, timeoutMs: 60_000 });
    try {
      // Start and warm every worker (module load, font registration) outside the timed rounds.
      await Promise.all(Array.from({ length: workers * 2 }, (_, i) => pool.render({ ...request, template: TEMPLATES[i % TEMPLATES.length] as string })));
      const rates: number[] = [];
      for (let r = 0; r < rounds; r += 1) rates.push(await round(pool, request));
      const imagesPerSecond = { min: Math.min(...rates), median: median(rates), max: Math.max(...rates) };
      points.push({ workers, renders: rendersPerRound, imagesPerSecond, msPerImage: 1000 / imagesPerSecond.median });
    } finally {
      await pool.close();
    }
  }

  const pad = (value: string, width: number): string => value.padStart(width);
  console.log(`\nad renders at 1080x1080 (${rendersPerRound} a round, ${rounds} rounds; ${availableParallelism()} cores, node ${process.version}, sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips})`);
  console.log(`${pad('workers', 8)} ${pad('min img/s', 10)} ${pad('median img/s', 13)} ${pad('max img/s', 10)} ${pad('ms/img', 8)}`);
  for (const p of points) {
    const { min, median: mid, max } = p.imagesPerSecond;
    console.log(`${pad(String(p.workers), 8)} ${pad(min.toFixed(1), 10)} ${pad(mid.toFixed(1), 13)} ${pad(max.toFixed(1), 10)} ${pad(p.msPerImage.toFixed(0), 8)}`);
  }

  if (outFile) {
    mkdirSync(dirname(outFile), { recursive: true });
    writeFileSync(outFile, JSON.stringify({ rendersPerRound, rounds, cores: availableParallelism(), node: process.version, sharp: sharp.versions, points }, null, 2));
    console.log(`written to ${outFile}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
