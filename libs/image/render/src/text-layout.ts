import type { FontMetrics } from './font-metrics';

export interface FitOptions {
  metrics: FontMetrics;
  /** Box the text must stay inside, in pixels. */
  width: number;
  height: number;
  /** Largest font size tried first (pixels), shrinking to `minSize` before anything is cut. */
  maxSize: number;
  minSize: number;
  maxLines: number;
}

export interface FittedText {
  lines: string[];
  /** Font size in pixels. */
  size: number;
  /** Distance between baselines in pixels (the font's own line height). */
  lineHeight: number;
  ellipsized: boolean;
}

export const ELLIPSIS = '\u2026';
const SHRINK_STEP = 0.93;

/** One line of copy: no control characters, runs of white space as one space, composed (NFC). */
export function normalizeCopy(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.normalize('NFC').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').replace(/\s+/g, ' ').trim();
}

const lineHeightOf = (metrics: FontMetrics): number => metrics.ascender - metrics.descender + metrics.lineGap;

/** Splits a word too wide for any line into pieces that fit (no hyphen: product codes, URLs). */
function breakWord(word: string, fits: (text: string) => boolean): string[] {
  const pieces: string[] = [];
  let piece = '';
  for (const char of word) {
    if (piece !== '' && !fits(piece + char)) {
      pieces.push(piece);
      piece = char;
    } else {
      piece += char;
    }
  }
  if (piece !== '') pieces.push(piece);
  return pieces;
}

/** Greedy word wrap at one size; every line fits `width` except a single glyph wider than it. */
export function wrapWords(text: string, metrics: FontMetrics, size: number, width: number): string[] {
  const fits = (line: string): boolean => metrics.measure(line) * size <= width;
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ').filter((w) => w !== '')) {
    const candidate = line === '' ? word : `${line} ${word}`;
    if (fits(candidate)) {
      line = candidate;
      continue;
    }
    if (line !== '') lines.push(line);
    if (fits(word)) {
      line = word;
    } else {
      const pieces = breakWord(word, fits);
      lines.push(...pieces.slice(0, -1));
      line = pieces[pieces.length - 1] ?? '';
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** `line` shortened at a word (or, for one long word, a character) so that `line…` fits. */
export function ellipsize(line: string, metrics: FontMetrics, size: number, width: number): string {
  const fits = (text: string): boolean => metrics.measure(text + ELLIPSIS) * size <= width;
  const trimmed = (text: string): string => text.replace(/[\s,;:.\-–—]+$/u, '');
  let text = trimmed(line);
  while (text !== '' && !fits(text)) {
    const space = text.lastIndexOf(' ');
    text = trimmed(space > 0 ? text.slice(0, space) : [...text].slice(0, -1).join(''));
  }
  return text + ELLIPSIS;
}

/**
 * Sets `text` in the box: the largest size (down to `minSize`) at which it wraps into at most
 * `maxLines` lines that fit; at `minSize` what does not fit is cut at the last line with an ellipsis.
 */
export function fitText(text: string, options: FitOptions): FittedText {
  const copy = normalizeCopy(text);
  const { metrics, width, height, maxSize, minSize, maxLines } = options;
  const lineFactor = lineHeightOf(metrics);
  const linesAt = (size: number): number => Math.min(maxLines, Math.floor(height / (size * lineFactor)));
  if (copy === '') return { lines: [], size: maxSize, lineHeight: maxSize * lineFactor, ellipsized: false };

  for (let size = maxSize; size > minSize; size = Math.max(minSize, size * SHRINK_STEP)) {
    const rounded = Math.round(size);
    const lines = wrapWords(copy, metrics, rounded, width);
    if (lines.length <= linesAt(rounded)) return { lines, size: rounded, lineHeight: rounded * lineFactor, ellipsized: false };
  }
  const size = Math.round(minSize);
  const lines = wrapWords(copy, metrics, size, width);
  const room = Math.max(1, linesAt(size));
  if (lines.length <= room) return { lines, size, lineHeight: size * lineFactor, ellipsized: false };
  const kept = lines.slice(0, room);
  kept[room - 1] = ellipsize(kept[room - 1] ?? '', metrics, size, width);
  return { lines: kept, size, lineHeight: size * lineFactor, ellipsized: true };
}
