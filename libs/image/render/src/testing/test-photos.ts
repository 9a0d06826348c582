import sharp from 'sharp';

/**
 * A product-like photo made by sharp, no download: a rounded object with a diagonal gradient on a
 * transparent background (alpha channel), PNG.
 */
export async function productPhoto(width = 900, height = 900): Promise<Buffer> {
  const r = Math.min(width, height);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
  <defs><linearGradient id="body" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#f4f4f4"/><stop offset="0.5" stop-color="#9aa4b1"/><stop offset="1" stop-color="#2e3440"/></linearGradient>
  <radialGradient id="shine" cx="0.35" cy="0.3" r="0.4"><stop offset="0" stop-color="#ffffff" stop-opacity="0.9"/><stop offset="1" stop-color="#ffffff" stop-opacity="0"/></radialGradient></defs>
  <rect x="${width * 0.22}" y="${height * 0.12}" width="${width * 0.56}" height="${height * 0.76}" rx="${r * 0.12}" fill="url(#body)"/>
  <circle cx="${width / 2}" cy="${height * 0.42}" r="${r * 0.16}" fill="#1f2933" stroke="#cbd2d9" stroke-width="${r * 0.02}"/>
  <rect x="${width * 0.22}" y="${height * 0.12}" width="${width * 0.56}" height="${height * 0.76}" rx="${r * 0.12}" fill="url(#shine)"/>
</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** A flat, fully opaque JPEG of one colour (a photo with no transparency). */
export function flatPhoto(width: number, height: number, color = '#3a7bd5'): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: color } }).jpeg().toBuffer();
}

/** An opaque landscape JPEG, like a lifestyle shot: a dark disc on a green field. */
export function scenePhoto(width = 1600, height = 1000): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
  <defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#cfe3f2"/><stop offset="1" stop-color="#88aa66"/></linearGradient></defs>
  <rect width="${width}" height="${height}" fill="url(#sky)"/>
  <circle cx="${width / 2}" cy="${height / 2}" r="${Math.min(width, height) * 0.3}" fill="#335522"/></svg>`;
  return sharp(Buffer.from(svg)).flatten().jpeg().toBuffer();
}
