import { AD_SIZE_NAMES, DomainError } from '@switchyard/contracts';
import { AdCanvas, checkPhoto } from './ad-canvas';
import { brandPalette } from './brand-palette';
import { adFonts } from './fonts';
import { AD_TEMPLATES } from './templates';

/** One ad to render: a template at a supported size, the product's words, brand colours and photo. */
export interface AdRenderRequest {
  template: string;
  width: number;
  height: number;
  title: string;
  bullets: string[];
  brandColors: { primary: string; secondary?: string; text?: string };
  /** The product photo (JPEG, PNG, WebP, GIF, AVIF, HEIF or TIFF; transparency kept). */
  photo: Buffer;
}

export type AdSizeName = (typeof AD_SIZE_NAMES)[number];

export interface AdSize {
  name: AdSizeName;
  width: number;
  height: number;
}

/** The sizes every template renders at, as the image API names them. */
export const AD_SIZES: readonly AdSize[] = AD_SIZE_NAMES.map((name) => {
  const [width, height] = name.split('x').map(Number) as [number, number];
  return { name, width, height };
});

/** The template names renderAd knows. */
export const TEMPLATES: readonly string[] = [...AD_TEMPLATES.keys()];

const MAX_COPY = 1000;
const MAX_BULLETS = 20;

function invalid(message: string, details?: Record<string, unknown>): DomainError {
  return new DomainError('VALIDATION_FAILED', message, details);
}

/** The photo as a Buffer: a worker receives a plain Uint8Array (structured clone drops the class). */
function photoBuffer(photo: unknown): Buffer {
  if (Buffer.isBuffer(photo)) return photo;
  if (photo instanceof Uint8Array) return Buffer.from(photo.buffer, photo.byteOffset, photo.byteLength);
  throw invalid('photo must be the image bytes (a Buffer)');
}

function checkCopy(request: AdRenderRequest): void {
  if (typeof request.title !== 'string') throw invalid('title must be a string');
  if (request.title.length > MAX_COPY) throw invalid(`title is over ${MAX_COPY} characters`);
  if (!Array.isArray(request.bullets) || request.bullets.some((b) => typeof b !== 'string')) throw invalid('bullets must be an array of strings');
  if (request.bullets.length > MAX_BULLETS) throw invalid(`at most ${MAX_BULLETS} bullets`);
  if (request.bullets.some((b) => b.length > MAX_COPY)) throw invalid(`a bullet is over ${MAX_COPY} characters`);
}

/**
 * Renders one ad as a PNG of exactly the requested size. Fails with UNKNOWN_TEMPLATE,
 * VALIDATION_FAILED (size, colours, copy) or IMAGE_DECODE_FAILED (a photo sharp cannot read).
 * Runs on the calling thread: services render through AdRenderPool, off the event loop.
 */
export async function renderAd(request: AdRenderRequest): Promise<Buffer> {
  if (typeof request !== 'object' || request === null) throw invalid('an ad render request is an object');
  const template = AD_TEMPLATES.get(request.template);
  if (!template) {
    throw new DomainError('UNKNOWN_TEMPLATE', `unknown template "${String(request.template)}"; templates are ${TEMPLATES.join(', ')}`, {
      template: request.template,
    });
  }
  const size = AD_SIZES.find((s) => s.width === request.width && s.height === request.height);
  if (!size) {
    throw invalid(`${String(request.width)}x${String(request.height)} is not a supported size; sizes are ${AD_SIZE_NAMES.join(', ')}`, {
      width: request.width,
      height: request.height,
    });
  }
  const palette = brandPalette(request.brandColors);
  checkCopy(request);
  const photo = await checkPhoto(photoBuffer(request.photo));

  const canvas = new AdCanvas(size.width, size.height, palette, adFonts(), photo);
  try {
    await template.draw(canvas, { title: request.title, bullets: request.bullets });
    return await canvas.toPng(palette.tint);
  } catch (error) {
    if (error instanceof DomainError) throw error;
    throw new DomainError('RENDER_FAILED', `the ad could not be rendered: ${error instanceof Error ? error.message : String(error)}`, {
      template: template.name,
    });
  }
}
