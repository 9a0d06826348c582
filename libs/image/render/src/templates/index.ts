import type { AdTemplate } from './ad-template';
import { badgeTemplate } from './badge';
import { heroTemplate } from './hero';
import { splitTemplate } from './split';

export type { AdCopy, AdTemplate } from './ad-template';

/** Every template by name; each lays itself out for any supported size. */
export const AD_TEMPLATES: ReadonlyMap<string, AdTemplate> = new Map([heroTemplate, splitTemplate, badgeTemplate].map((t) => [t.name, t]));
