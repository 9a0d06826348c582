import { DomainError } from '@switchyard/contracts';

export interface Rgb {
  r: number;
  g: number;
  b: number;
}

/** The colours a template paints with, all `#rrggbb`, derived once from the brand's. */
export interface BrandPalette {
  primary: string;
  secondary: string;
  /** Text set on the primary colour. */
  text: string;
  /** Text set on the secondary colour. */
  textOnSecondary: string;
  /** A pale tint of the primary, behind photos. */
  tint: string;
}

export interface BrandColors {
  primary: string;
  secondary?: string;
  text?: string;
}

const HEX = /^#[0-9a-fA-F]{6}$/;
const WHITE: Rgb = { r: 255, g: 255, b: 255 };
const INK: Rgb = { r: 17, g: 17, b: 17 };

export function parseColor(value: string, field: string): Rgb {
  if (typeof value !== 'string' || !HEX.test(value)) {
    throw new DomainError('VALIDATION_FAILED', `${field} must be a colour as #rrggbb`, { field, value });
  }
  return { r: parseInt(value.slice(1, 3), 16), g: parseInt(value.slice(3, 5), 16), b: parseInt(value.slice(5, 7), 16) };
}

export const toHex = ({ r, g, b }: Rgb): string =>
  `#${[r, g, b].map((c) => Math.round(c).toString(16).padStart(2, '0')).join('')}`;

export const mix = (a: Rgb, b: Rgb, amountOfB: number): Rgb => ({
  r: a.r + (b.r - a.r) * amountOfB,
  g: a.g + (b.g - a.g) * amountOfB,
  b: a.b + (b.b - a.b) * amountOfB,
});

/** WCAG relative luminance, 0 (black) to 1 (white). */
export function luminance({ r, g, b }: Rgb): number {
  const linear = (c: number): number => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}

export function contrastRatio(a: Rgb, b: Rgb): number {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}

/** `preferred` when it reads on `background` (WCAG large-text 3:1), else white or ink, whichever reads better. */
export function readableOn(background: Rgb, preferred?: Rgb): Rgb {
  if (preferred && contrastRatio(preferred, background) >= 3) return preferred;
  return contrastRatio(WHITE, background) >= contrastRatio(INK, background) ? WHITE : INK;
}

/**
 * The brand's colours, validated, with what it left out derived from the primary: the brand's text
 * colour is used as given on the primary (its own choice), an accent is a lighter or darker primary.
 */
export function brandPalette(colors: BrandColors): BrandPalette {
  if (typeof colors !== 'object' || colors === null) {
    throw new DomainError('VALIDATION_FAILED', 'brandColors must be an object with a primary colour');
  }
  const primary = parseColor(colors.primary, 'brandColors.primary');
  const secondary =
    colors.secondary === undefined
      ? luminance(primary) < 0.35
        ? mix(primary, WHITE, 0.6)
        : mix(primary, INK, 0.55)
      : parseColor(colors.secondary, 'brandColors.secondary');
  const text = colors.text === undefined ? readableOn(primary) : parseColor(colors.text, 'brandColors.text');
  return {
    primary: toHex(primary),
    secondary: toHex(secondary),
    text: toHex(text),
    textOnSecondary: toHex(readableOn(secondary, text)),
    tint: toHex(mix(primary, WHITE, 0.9)),
  };
}
