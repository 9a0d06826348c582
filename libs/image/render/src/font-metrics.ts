/**
 * Advance widths and line metrics read from a TrueType/OpenType file: enough to wrap and fit text
 * before Pango draws it, without a font library. Kerning is left out, so a measure errs wide (safe).
 */
export interface FontMetrics {
  unitsPerEm: number;
  ascender: number;
  descender: number;
  lineGap: number;
  /** Height of a capital letter above the baseline, in em. */
  capHeight: number;
  /** Width of `text` in em (multiply by the font size in pixels). */
  measure(text: string): number;
  /** Highest ink of `text` above the baseline, in em (glyph bounding boxes), 0 for none. */
  inkAbove(text: string): number;
  /** Whether the font has a glyph for the code point (else Pango falls back to another font). */
  covers(codePoint: number): boolean;
}

interface Table {
  offset: number;
  length: number;
}

function tables(font: Buffer): Map<string, Table> {
  const count = font.readUInt16BE(4);
  const found = new Map<string, Table>();
  for (let i = 0; i < count; i += 1) {
    const record = 12 + i * 16;
    found.set(font.toString('latin1', record, record + 4), { offset: font.readUInt32BE(record + 8), length: font.readUInt32BE(record + 12) });
  }
  return found;
}

function requireTable(all: Map<string, Table>, tag: string): Table {
  const table = all.get(tag);
  if (!table) throw new Error(`font has no '${tag}' table`);
  return table;
}

type GlyphLookup = (codePoint: number) => number;

/** A cmap subtable of format 4 (BMP segments) or 12 (full Unicode groups). */
function cmapLookup(font: Buffer, cmap: Table): GlyphLookup {
  const count = font.readUInt16BE(cmap.offset + 2);
  const subtables: { platform: number; encoding: number; offset: number }[] = [];
  for (let i = 0; i < count; i += 1) {
    const record = cmap.offset + 4 + i * 8;
    subtables.push({ platform: font.readUInt16BE(record), encoding: font.readUInt16BE(record + 2), offset: cmap.offset + font.readUInt32BE(record + 4) });
  }
  const pick = (format: number): number | undefined =>
    subtables.find((s) => (s.platform === 3 || s.platform === 0) && font.readUInt16BE(s.offset) === format)?.offset;

  const format12 = pick(12);
  if (format12 !== undefined) {
    const groups = font.readUInt32BE(format12 + 12);
    return (codePoint) => {
      let low = 0;
      let high = groups - 1;
      while (low <= high) {
        const middle = (low + high) >> 1;
        const group = format12 + 16 + middle * 12;
        const start = font.readUInt32BE(group);
        const end = font.readUInt32BE(group + 4);
        if (codePoint < start) high = middle - 1;
        else if (codePoint > end) low = middle + 1;
        else return font.readUInt32BE(group + 8) + (codePoint - start);
      }
      return 0;
    };
  }
  const format4 = pick(4);
  if (format4 === undefined) throw new Error('font has no Unicode cmap (format 4 or 12)');
  const segments = font.readUInt16BE(format4 + 6) / 2;
  const ends = format4 + 14;
  const starts = ends + segments * 2 + 2;
  const deltas = starts + segments * 2;
  const rangeOffsets = deltas + segments * 2;
  return (codePoint) => {
    if (codePoint > 0xffff) return 0;
    for (let i = 0; i < segments; i += 1) {
      if (font.readUInt16BE(ends + i * 2) < codePoint) continue;
      const start = font.readUInt16BE(starts + i * 2);
      if (start > codePoint) return 0;
      const delta = font.readInt16BE(deltas + i * 2);
      const rangeOffsetAt = rangeOffsets + i * 2;
      const rangeOffset = font.readUInt16BE(rangeOffsetAt);
      if (rangeOffset === 0) return (codePoint + delta) & 0xffff;
      const glyph = font.readUInt16BE(rangeOffsetAt + rangeOffset + (codePoint - start) * 2);
      return glyph === 0 ? 0 : (glyph + delta) & 0xffff;
    }
    return 0;
  };
}

/** OS/2 sCapHeight (table version 2 and up), else 0. */
function capHeightOf(font: Buffer, os2: Table | undefined): number {
  if (!os2 || os2.length < 90 || font.readUInt16BE(os2.offset) < 2) return 0;
  return font.readInt16BE(os2.offset + 88);
}

/** A glyph's yMax in em, from 'glyf' (TrueType outlines); the cap height where there is no 'glyf'. */
function glyphTops(font: Buffer, all: Map<string, Table>, unitsPerEm: number): (glyph: number) => number {
  const head = requireTable(all, 'head');
  const loca = all.get('loca');
  const glyf = all.get('glyf');
  if (!loca || !glyf) return () => 0.7;
  const longOffsets = font.readInt16BE(head.offset + 50) === 1;
  const glyphs = loca.length / (longOffsets ? 4 : 2) - 1;
  const offsetOf = (glyph: number): number => (longOffsets ? font.readUInt32BE(loca.offset + glyph * 4) : font.readUInt16BE(loca.offset + glyph * 2) * 2);
  return (glyph) => {
    if (glyph >= glyphs || offsetOf(glyph) === offsetOf(glyph + 1)) return 0;
    return font.readInt16BE(glyf.offset + offsetOf(glyph) + 8) / unitsPerEm;
  };
}

export function readFontMetrics(font: Buffer): FontMetrics {
  const all = tables(font);
  const head = requireTable(all, 'head');
  const hhea = requireTable(all, 'hhea');
  const hmtx = requireTable(all, 'hmtx');
  const unitsPerEm = font.readUInt16BE(head.offset + 18);
  const horizontalMetrics = font.readUInt16BE(hhea.offset + 34);
  const glyphOf = cmapLookup(font, requireTable(all, 'cmap'));
  const advanceOf = (glyph: number): number => font.readUInt16BE(hmtx.offset + Math.min(glyph, horizontalMetrics - 1) * 4);
  // A glyph the font lacks is drawn by a fallback font; budget it at a wide em.
  const missing = unitsPerEm;
  const capHeight = capHeightOf(font, all.get('OS/2')) / unitsPerEm || 0.7;
  const glyphTop = glyphTops(font, all, unitsPerEm);
  const cache = new Map<number, number>();
  const advance = (codePoint: number): number => {
    let width = cache.get(codePoint);
    if (width === undefined) {
      const glyph = glyphOf(codePoint);
      width = glyph === 0 ? missing : advanceOf(glyph);
      cache.set(codePoint, width);
    }
    return width;
  };
  return {
    unitsPerEm,
    ascender: font.readInt16BE(hhea.offset + 4) / unitsPerEm,
    descender: font.readInt16BE(hhea.offset + 6) / unitsPerEm,
    lineGap: font.readInt16BE(hhea.offset + 8) / unitsPerEm,
    capHeight,
    measure(text) {
      let units = 0;
      for (const char of text) units += advance(char.codePointAt(0) as number);
      return units / unitsPerEm;
    },
    inkAbove(text) {
      let top = 0;
      for (const char of text) {
        const glyph = glyphOf(char.codePointAt(0) as number);
        // A glyph the font lacks comes from a fallback font: assume it reaches the capitals.
        top = Math.max(top, glyph === 0 ? capHeight : glyphTop(glyph));
      }
      return top;
    },
    covers: (codePoint) => glyphOf(codePoint) !== 0,
  };
}
