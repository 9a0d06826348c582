export * from './accounts-store';
export * from './admin-commands';
export {
  API_KEY_PREFIX,
  generateApiKey,
  hashSecret,
  isAcceptableBootstrapKey,
  parseApiKey,
  secretMatches,
  type IssuedApiKey,
  type ParsedApiKey,
} from './api-key';
export * from './migrations';
export type * from './schema';
export * from './cached-authenticator';
