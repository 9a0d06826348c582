import type { AdCanvas } from '../ad-canvas';

/** The words on an ad. */
export interface AdCopy {
  title: string;
  bullets: string[];
}

/**
 * An ad's layout, computed from the canvas's size and orientation (one template serves every
 * supported size); it paints with the canvas's brand palette and fonts.
 */
export interface AdTemplate {
  readonly name: string;
  readonly description: string;
  draw(canvas: AdCanvas, copy: AdCopy): Promise<void>;
}
