import { adFonts } from './fonts';
import { ELLIPSIS, ellipsize, fitText, normalizeCopy, wrapWords } from './text-layout';

const { headline } = adFonts();
const metrics = headline.metrics;
const widthAt = (line: string, size: number): number => metrics.measure(line) * size;

describe('normalizeCopy', () => {
  it('folds white space and control characters into single spaces', () => {
    expect(normalizeCopy('  Noise\tcancelling\n\n headphones\u0007 ')).toBe('Noise cancelling headphones');
  });
});

describe('wrapWords', () => {
  it('keeps every line within the width', () => {
    const lines = wrapWords('Ultra comfortable wireless headphones with sixty hours of battery life', metrics, 60, 500);
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(widthAt(line, 60)).toBeLessThanOrEqual(500);
    expect(lines.join(' ')).toBe('Ultra comfortable wireless headphones with sixty hours of battery life');
  });

  it('breaks a word wider than the line', () => {
    const lines = wrapWords('SKU-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', metrics, 40, 300);
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(widthAt(line, 40)).toBeLessThanOrEqual(300);
  });
});

describe('ellipsize', () => {
  it('cuts at a word and ends with an ellipsis that fits', () => {
    const cut = ellipsize('Active noise cancelling blocks ambient sound', metrics, 40, 400);
    expect(cut.endsWith(ELLIPSIS)).toBe(true);
    expect(widthAt(cut, 40)).toBeLessThanOrEqual(400);
    expect('Active noise cancelling blocks ambient sound'.startsWith(cut.slice(0, -1))).toBe(true);
  });
});

describe('fitText', () => {
  const box = { metrics, width: 600, height: 200, maxSize: 80, minSize: 30, maxLines: 2 };

  it('uses the largest size when the text fits', () => {
    const set = fitText('Headphones', box);
    expect(set).toMatchObject({ lines: ['Headphones'], size: 80, ellipsized: false });
  });

  it('shrinks before it cuts', () => {
    const set = fitText('AeroSound Pro Wireless Headphones', box);
    expect(set.size).toBeLessThan(80);
    expect(set.size).toBeGreaterThanOrEqual(30);
    expect(set.ellipsized).toBe(false);
    expect(set.lines.length).toBeLessThanOrEqual(2);
    expect(set.lines.length * set.lineHeight).toBeLessThanOrEqual(200);
  });

  it('at the smallest size, cuts the last allowed line with an ellipsis', () => {
    const set = fitText('word '.repeat(200), box);
    expect(set.size).toBe(30);
    expect(set.lines).toHaveLength(2);
    expect(set.ellipsized).toBe(true);
    expect(set.lines[1]?.endsWith(ELLIPSIS)).toBe(true);
    for (const line of set.lines) expect(widthAt(line, 30)).toBeLessThanOrEqual(600);
  });

  it('sets nothing for empty copy', () => {
    expect(fitText('   ', box).lines).toEqual([]);
  });
});
