export { AD_SIZES, TEMPLATES, renderAd, type AdRenderRequest, type AdSize, type AdSizeName } from './render-ad';
export { AdRenderPool, type AdRenderPoolOptions, type AdRenderPoolStats, type RenderOptions } from './render-pool';
