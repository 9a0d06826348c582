import type { Box } from '../ad-canvas';
import type { AdTemplate } from './ad-template';

/** Said by the badge when there is no bullet point to say it. */
const DEFAULT_BADGE = 'NEW';

/**
 * The photo centred on the brand colour under a headline, a round corner badge in the accent colour
 * carrying the first bullet point; on a tall canvas the next bullets run along the bottom.
 */
export const badgeTemplate: AdTemplate = {
  name: 'badge',
  description: 'Photo centred on the brand colour, headline above, a corner badge with the first bullet point',
  async draw(canvas, { title, bullets }) {
    const { width: W, height: H, unit: u, orientation, palette, fonts } = canvas;
    const pad = u * 6;
    const [badgeCopy, ...rest] = bullets.filter((b) => b.trim() !== '');

    canvas.fill({ left: 0, top: 0, width: W, height: H }, palette.primary);

    const headlineBox: Box = { left: pad, top: pad, width: W - 2 * pad, height: u * (orientation === 'portrait' ? 30 : orientation === 'landscape' ? 22 : 24) };
    const headline = canvas.text(title, headlineBox, {
      face: fonts.headline,
      color: palette.text,
      maxSize: u * (orientation === 'landscape' ? 9 : 8.5),
      minSize: u * 4.5,
      maxLines: orientation === 'portrait' ? 3 : 2,
      align: 'centre',
      valign: 'middle',
    });

    const footerHeight = orientation === 'portrait' && rest.length > 0 ? u * 34 : 0;
    const photoBox: Box = {
      left: pad,
      top: headlineBox.top + headlineBox.height + u * 3,
      width: W - 2 * pad,
      height: H - (headlineBox.top + headlineBox.height + u * 3) - pad - footerHeight,
    };
    const centre = { x: photoBox.left + photoBox.width / 2, y: photoBox.top + photoBox.height / 2 };
    // A soft lighter glow behind the product lifts it off the flat colour.
    const glow = Math.min(photoBox.width, photoBox.height) * 0.62;
    canvas.shape(
      { left: centre.x - glow, top: centre.y - glow, width: glow * 2, height: glow * 2 },
      `<defs><radialGradient id="g"><stop offset="0" stop-color="${palette.tint}" stop-opacity="0.55"/><stop offset="1" stop-color="${palette.tint}" stop-opacity="0"/></radialGradient></defs>` +
        `<circle cx="${glow}" cy="${glow}" r="${glow}" fill="url(#g)"/>`,
    );
    const photo = canvas.photo(photoBox, { fit: 'contain', shadow: true });

    const diameter = u * (orientation === 'landscape' ? 30 : 26);
    const radius = diameter / 2;
    const badge: Box = {
      left: Math.min(W - diameter - u * 2, photoBox.left + photoBox.width - diameter * 0.9),
      top: Math.max(headlineBox.top + headlineBox.height - diameter * 0.25, photoBox.top - diameter * 0.1),
      width: diameter,
      height: diameter,
    };
    const ring = Math.max(2, u * 0.45);
    canvas.shape(
      badge,
      `<circle cx="${radius}" cy="${radius}" r="${radius}" fill="${palette.secondary}"/>` +
        `<circle cx="${radius}" cy="${radius}" r="${radius - ring * 3}" fill="none" stroke="${palette.textOnSecondary}" stroke-opacity="0.55" stroke-width="${ring}"/>`,
    );
    // The text stays inside the ring: a square inscribed in its circle, slightly widened.
    const side = (radius - ring * 4) * 1.45;
    const badgeText = canvas.text(badgeCopy ?? DEFAULT_BADGE, { left: badge.left + radius - side / 2, top: badge.top + radius - side / 2, width: side, height: side }, {
      face: fonts.headline,
      color: palette.textOnSecondary,
      maxSize: u * 5.5,
      minSize: u * 2.6,
      maxLines: 3,
      align: 'centre',
      valign: 'middle',
    });

    const drawn: Promise<unknown>[] = [headline, photo, badgeText];
    if (footerHeight > 0) {
      const footer: Box = { left: pad, top: H - pad - footerHeight + u * 4, width: W - 2 * pad, height: footerHeight - u * 4 };
      canvas.fill({ left: W / 2 - u * 8, top: footer.top - u * 2, width: u * 16, height: Math.max(3, u * 0.8) }, palette.secondary);
      const sets = rest.slice(0, 3).map((bullet) =>
        canvas.setText(bullet, { width: footer.width, height: u * 6 }, { face: fonts.body, color: palette.text, maxSize: u * 4.4, minSize: u * 4.4, maxLines: 1, align: 'centre' }),
      );
      const gap = u * 3.2;
      const total = sets.reduce((sum, set, i) => sum + set.height + (i > 0 ? gap : 0), 0);
      let top = footer.top + (footer.height - total) / 2;
      for (const set of sets) {
        drawn.push(canvas.draw(set, footer.left, top));
        top += set.height + gap;
      }
    }
    await Promise.all(drawn);
  },
};
