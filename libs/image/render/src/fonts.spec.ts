import sharp from 'sharp';
import { AdCanvas } from './ad-canvas';
import { brandPalette } from './brand-palette';
import { adFonts } from './fonts';

const SAMPLE = 'Wireless Headphones with 40h Battery';

describe('the shipped fonts', () => {
  const fonts = adFonts();

  it('come from the npm package, not the system', () => {
    for (const face of [fonts.headline, fonts.body]) {
      expect(face.file).toMatch(/node_modules\/@expo-google-fonts\/inter\/.+\.ttf$/);
      expect(face.metrics.measure('Hello')).toBeGreaterThan(1);
    }
  });

  // The ink width Pango draws matches Inter's own advance widths (read from the shipped file); a
  // fallback face (DejaVu here) is over 10% wider, so this tells the two apart.
  it.each([
    ['headline', fonts.headline],
    ['body', fonts.body],
  ])('the %s face is the one the ad text is drawn in', async (_name, face) => {
    const canvas = new AdCanvas(2000, 300, brandPalette({ primary: '#0f4c81' }), fonts, { bytes: Buffer.alloc(0), hasAlpha: false });
    const placed = await canvas.text(SAMPLE, { left: 0, top: 0, width: 2000, height: 300 }, { face, color: '#000000', maxSize: 80, minSize: 80, maxLines: 1 });
    const expected = face.metrics.measure(SAMPLE) * 80;
    expect(placed?.width).toBeGreaterThan(expected * 0.97);
    expect(placed?.width).toBeLessThan(expected * 1.01);

    const fallback = await sharp({ text: { text: SAMPLE, font: 'NoSuchFamily Bold 80', dpi: 72 } }).png().toBuffer({ resolveWithObject: true });
    expect(Math.abs(fallback.info.width - expected) / expected).toBeGreaterThan(0.05);
  });
});
