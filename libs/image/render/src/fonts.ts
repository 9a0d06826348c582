import { readFileSync } from 'node:fs';
import { readFontMetrics, type FontMetrics } from './font-metrics';

/** A face of a font that ships with the project (npm `@expo-google-fonts/inter`, SIL OFL 1.1). */
export interface FontFace {
  /** The Pango family and style, as sharp's `text.font` wants it (size appended). */
  pango: string;
  file: string;
  metrics: FontMetrics;
}

function face(pango: string, packagePath: string): FontFace {
  // Resolved through the package, never a system font: the ad looks the same on every machine.
  const file = require.resolve(`@expo-google-fonts/inter/${packagePath}`);
  return { pango, file, metrics: readFontMetrics(readFileSync(file)) };
}

let loaded: { headline: FontFace; body: FontFace } | undefined;

/** Headlines in Inter ExtraBold, bullets and small print in Inter Medium. */
export function adFonts(): { headline: FontFace; body: FontFace } {
  loaded ??= {
    headline: face('Inter ExtraBold', '800ExtraBold/Inter_800ExtraBold.ttf'),
    body: face('Inter Medium', '500Medium/Inter_500Medium.ttf'),
  };
  return loaded;
}
