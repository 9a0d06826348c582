import type { AdCanvas, Box, SetText } from '../ad-canvas';
import type { AdTemplate } from './ad-template';

const MAX_BULLETS = 5;

/** The bullets that fit `height` at one size, largest size first, every bullet at the same size. */
function setBullets(canvas: AdCanvas, bullets: string[], width: number, height: number): { sets: SetText[]; gap: number; size: number } {
  const { unit: u, fonts, palette } = canvas;
  const wanted = bullets.filter((b) => b.trim() !== '').slice(0, MAX_BULLETS);
  let best: { sets: SetText[]; gap: number; size: number } = { sets: [], gap: 0, size: 0 };
  for (const size of [4.2, 3.8, 3.4, 3].map((s) => Math.round(u * s))) {
    const indent = Math.round(size * 1.25);
    const gap = size * 0.9;
    const sets: SetText[] = [];
    let used = 0;
    for (const bullet of wanted) {
      const set = canvas.setText(bullet, { width: width - indent, height: size * 2.5 }, { face: fonts.body, color: palette.text, maxSize: size, minSize: size, maxLines: 2 });
      const next = used + (sets.length > 0 ? gap : 0) + set.height + size * 0.25;
      if (next > height) break;
      sets.push(set);
      used = next;
    }
    if (sets.length > best.sets.length) best = { sets, gap, size };
    if (sets.length === wanted.length) break;
  }
  return best;
}

/** Photo on one side (on top when tall), title and bullet points on the brand colour on the other. */
export const splitTemplate: AdTemplate = {
  name: 'split',
  description: 'Photo on one half on a pale brand tint, title and bullet points on the brand colour on the other',
  async draw(canvas, { title, bullets }) {
    const { width: W, height: H, unit: u, orientation, palette, fonts } = canvas;
    const stacked = orientation === 'portrait';
    const accent = Math.max(4, Math.round(u * 1.2));
    const photoPanel: Box = stacked ? { left: 0, top: 0, width: W, height: Math.round(H * 0.48) } : { left: 0, top: 0, width: Math.round(W * (orientation === 'landscape' ? 0.46 : 0.5)), height: H };
    const textPanel: Box = stacked
      ? { left: 0, top: photoPanel.height, width: W, height: H - photoPanel.height }
      : { left: photoPanel.width, top: 0, width: W - photoPanel.width, height: H };

    canvas.fill(photoPanel, palette.tint);
    const photoPad = u * (stacked ? 7 : 5);
    void canvas.photo(
      { left: photoPanel.left + photoPad, top: photoPanel.top + photoPad, width: photoPanel.width - 2 * photoPad, height: photoPanel.height - 2 * photoPad },
      { fit: 'contain', shadow: true },
    );
    canvas.fill(textPanel, palette.primary);
    canvas.fill(stacked ? { left: 0, top: textPanel.top, width: W, height: accent } : { left: textPanel.left, top: 0, width: accent, height: H }, palette.secondary);

    const pad = u * (orientation === 'landscape' ? 6 : 7);
    const inner: Box = {
      left: textPanel.left + pad + (stacked ? 0 : accent),
      top: textPanel.top + pad + (stacked ? accent : 0),
      width: textPanel.width - 2 * pad - (stacked ? 0 : accent),
      height: textPanel.height - 2 * pad - (stacked ? accent : 0),
    };
    const titleSet = canvas.setText(title, { width: inner.width, height: inner.height * 0.5 }, {
      face: fonts.headline,
      color: palette.text,
      maxSize: u * (orientation === 'landscape' ? 8.5 : 7.5),
      minSize: u * 4.2,
      maxLines: orientation === 'landscape' ? 3 : 4,
    });
    const rule = { width: Math.round(u * 14), height: Math.max(3, Math.round(u * 0.9)), gap: u * 4 };
    const ruleRoom = titleSet.height > 0 ? rule.gap * 2 + rule.height : 0;
    const { sets, gap, size } = setBullets(canvas, bullets, inner.width, inner.height - titleSet.height - ruleRoom);
    const bulletsHeight = sets.reduce((sum, set, i) => sum + set.height + (i > 0 ? gap : 0), 0);
    const groupHeight = titleSet.height + (sets.length > 0 ? ruleRoom + bulletsHeight : 0);

    let top = inner.top + (inner.height - groupHeight) / 2;
    const drawn = [canvas.draw(titleSet, inner.left, top)];
    top += titleSet.height;
    if (sets.length > 0 && titleSet.height > 0) {
      canvas.fill({ left: inner.left, top: top + rule.gap, width: rule.width, height: rule.height }, palette.secondary);
      top += ruleRoom;
    }
    const indent = Math.round(size * 1.25);
    const dot = size * 0.42;
    for (const set of sets) {
      // The marker sits on the first line's x-height, level with the capitals' middle.
      const centreY = top + (set.style.face.metrics.capHeight * size) / 2;
      canvas.shape({ left: inner.left, top: centreY - dot / 2, width: dot + 2, height: dot + 2 }, `<circle cx="${dot / 2 + 1}" cy="${dot / 2 + 1}" r="${dot / 2}" fill="${palette.secondary}"/>`);
      drawn.push(canvas.draw(set, inner.left + indent, top));
      top += set.height + gap;
    }
    await Promise.all(drawn);
  },
};
