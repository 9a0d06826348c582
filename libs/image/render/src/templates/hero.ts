import type { AdTemplate } from './ad-template';

/** The photo large across the top (a scene edge to edge, a cut-out whole), the title on a band of the brand colour, the first bullet under it. */
export const heroTemplate: AdTemplate = {
  name: 'hero',
  description: 'Photo filling the top, title band in the brand colour with the first bullet as a subtitle',
  async draw(canvas, { title, bullets }) {
    const { width: W, height: H, unit: u, orientation, palette, fonts } = canvas;
    const bandHeight = Math.round(H * (orientation === 'portrait' ? 0.3 : orientation === 'landscape' ? 0.4 : 0.36));
    const bandTop = H - bandHeight;
    const stripe = Math.max(4, Math.round(u * 1.2));

    canvas.fill({ left: 0, top: 0, width: W, height: bandTop }, palette.tint);
    // A scene fills the top edge to edge; a cut-out product stands whole in it, with a shadow.
    const inset = u * 5;
    void canvas.photo(
      canvas.photoHasAlpha ? { left: inset, top: inset, width: W - 2 * inset, height: bandTop - 2 * inset } : { left: 0, top: 0, width: W, height: bandTop },
      { fit: canvas.photoHasAlpha ? 'contain' : 'cover', shadow: canvas.photoHasAlpha },
    );
    canvas.fill({ left: 0, top: bandTop, width: W, height: bandHeight }, palette.primary);
    canvas.fill({ left: 0, top: bandTop, width: W, height: stripe }, palette.secondary);

    const pad = u * 6;
    const inner = { width: W - 2 * pad, height: bandHeight - stripe - u * 9 };
    const subtitleStyle = { face: fonts.body, color: palette.text, maxSize: u * (orientation === 'landscape' ? 4.6 : 4), minSize: u * 3, maxLines: 1 };
    const subtitleRoom = bullets[0] ? subtitleStyle.maxSize * 1.25 + u * 2 : 0;
    const titleSet = canvas.setText(title, { width: inner.width, height: inner.height - subtitleRoom }, {
      face: fonts.headline,
      color: palette.text,
      maxSize: u * (orientation === 'landscape' ? 9 : 8),
      minSize: u * (orientation === 'landscape' ? 5 : 4.5),
      maxLines: orientation === 'portrait' ? 3 : 2,
    });
    const subtitleSet = canvas.setText(bullets[0] ?? '', { width: inner.width, height: subtitleStyle.maxSize * 1.25 }, subtitleStyle);
    // Room under the title's baseline for its descenders, then the gap.
    const gap = titleSet.height > 0 && subtitleSet.height > 0 ? titleSet.size * 0.22 + u * 2.4 : 0;
    // Title and subtitle as one group, centred in the band below the stripe.
    const top = bandTop + stripe + (bandHeight - stripe - (titleSet.height + gap + subtitleSet.height)) / 2;
    const drawn = [canvas.draw(titleSet, pad, top), canvas.draw(subtitleSet, pad, top + titleSet.height + gap)];
    await Promise.all(drawn);
  },
};
