import sharp from 'sharp';
import { isDomainError, type DomainError } from '@switchyard/contracts';
import { AD_SIZES, renderAd, TEMPLATES, type AdRenderRequest } from './render-ad';
import { productPhoto, scenePhoto } from './testing/test-photos';

const PRIMARY = { r: 0x0f, g: 0x4c, b: 0x81 };

async function failure(work: Promise<unknown>): Promise<DomainError> {
  try {
    await work;
  } catch (error) {
    if (isDomainError(error)) return error;
    throw error;
  }
  throw new Error('expected a DomainError');
}

async function pixels(png: Buffer): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

function share(image: { data: Buffer; channels: number }, color: { r: number; g: number; b: number }): number {
  let count = 0;
  for (let i = 0; i < image.data.length; i += image.channels) {
    if (image.data[i] === color.r && image.data[i + 1] === color.g && image.data[i + 2] === color.b) count += 1;
  }
  return count / (image.data.length / image.channels);
}

function differingShare(a: { data: Buffer; channels: number }, b: { data: Buffer }): number {
  let count = 0;
  for (let i = 0; i < a.data.length; i += a.channels) {
    if (a.data[i] !== b.data[i] || a.data[i + 1] !== b.data[i + 1] || a.data[i + 2] !== b.data[i + 2]) count += 1;
  }
  return count / (a.data.length / a.channels);
}

describe('renderAd', () => {
  let photo: Buffer;
  let base: Omit<AdRenderRequest, 'template' | 'width' | 'height'>;

  beforeAll(async () => {
    photo = await productPhoto();
    base = {
      title: 'AeroSound Pro Wireless Headphones',
      bullets: ['40h battery life', 'Active noise cancelling', 'Fast USB-C charging'],
      brandColors: { primary: '#0f4c81', secondary: '#ff9900' },
      photo,
    };
  });

  it('knows three templates and the three API sizes', () => {
    expect(TEMPLATES).toEqual(['hero', 'split', 'badge']);
    expect(AD_SIZES.map((s) => s.name)).toEqual(['1080x1080', '1200x628', '1080x1920']);
  });

  describe.each(TEMPLATES.map((t) => [t]))('%s', (template) => {
    it.each(AD_SIZES.map((s) => [s.name, s]))('renders a %s PNG with the brand colour and a real picture', async (_name, size) => {
      const png = await renderAd({ ...base, template, width: size.width, height: size.height });
      const metadata = await sharp(png).metadata();
      expect(metadata).toMatchObject({ format: 'png', width: size.width, height: size.height, channels: 3 });
      const stats = await sharp(png).stats();
      for (const channel of stats.channels.slice(0, 3)) expect(channel.stdev).toBeGreaterThan(10);
      expect(share(await pixels(png), PRIMARY)).toBeGreaterThan(0.05);
    });

    it('draws the title', async () => {
      const withTitle = await pixels(await renderAd({ ...base, template, width: 1080, height: 1080 }));
      const without = await pixels(await renderAd({ ...base, template, width: 1080, height: 1080, title: '' }));
      expect(differingShare(withTitle, without)).toBeGreaterThan(0.01);
    });

    it('fits copy far too long for the space, at the tall size', async () => {
      const png = await renderAd({ ...base, template, width: 1080, height: 1920, title: 'Ultra comfortable '.repeat(40), bullets: Array(10).fill('Long bullet point '.repeat(20)) });
      expect(await sharp(png).metadata()).toMatchObject({ width: 1080, height: 1920 });
    });
  });

  it('fills the frame with an opaque photo (a scene) and keeps its colours', async () => {
    const png = await renderAd({ ...base, template: 'hero', width: 1200, height: 628, photo: await scenePhoto() });
    const image = await pixels(png);
    // The top left corner is the scene's pale sky, not the tint behind a cut-out.
    const corner = image.data.subarray(0, 3);
    expect(corner[2]).toBeGreaterThan(200);
    expect(corner[0]).toBeGreaterThan(180);
  });

  it('fails with IMAGE_DECODE_FAILED for a photo sharp cannot decode', async () => {
    const error = await failure(renderAd({ ...base, template: 'hero', width: 1080, height: 1080, photo: Buffer.from('not an image at all') }));
    expect(error.code).toBe('IMAGE_DECODE_FAILED');
    expect(error.message).toMatch(/could not be decoded/);
  });

  it('fails with IMAGE_DECODE_FAILED for a truncated photo', async () => {
    const truncated = (await scenePhoto()).subarray(0, 2000);
    const error = await failure(renderAd({ ...base, template: 'hero', width: 1080, height: 1080, photo: truncated }));
    expect(error.code).toBe('IMAGE_DECODE_FAILED');
  });

  it('refuses an SVG as the photo (a document that may reference files)', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
    const error = await failure(renderAd({ ...base, template: 'split', width: 1080, height: 1080, photo: svg }));
    expect(error.code).toBe('IMAGE_DECODE_FAILED');
    expect(error.message).toMatch(/svg is not a photo format/);
  });

  it('fails with UNKNOWN_TEMPLATE for a template it does not have', async () => {
    const error = await failure(renderAd({ ...base, template: 'carousel', width: 1080, height: 1080 }));
    expect(error.code).toBe('UNKNOWN_TEMPLATE');
    expect(error.message).toMatch(/hero, split, badge/);
  });

  it.each([
    [1000, 1000],
    [1080, 1081],
    [628, 1200],
  ])('fails with VALIDATION_FAILED for the size %ix%i', async (width, height) => {
    const error = await failure(renderAd({ ...base, template: 'hero', width, height }));
    expect(error.code).toBe('VALIDATION_FAILED');
  });

  it('fails with VALIDATION_FAILED for a colour that is not #rrggbb', async () => {
    const error = await failure(renderAd({ ...base, template: 'hero', width: 1080, height: 1080, brandColors: { primary: 'navy' } }));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toMatch(/brandColors.primary/);
  });

  it('fails with VALIDATION_FAILED for bullets that are not strings', async () => {
    const error = await failure(renderAd({ ...base, template: 'hero', width: 1080, height: 1080, bullets: [42 as unknown as string] }));
    expect(error.code).toBe('VALIDATION_FAILED');
  });
});
