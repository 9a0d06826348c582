export * from './domain/credits-commands';
export * from './domain/credits-decider';
export * from './admin-commands';
export * from './credits-projection';
export * from './ledger';
export * from './migrations';
export type * from './schema';
