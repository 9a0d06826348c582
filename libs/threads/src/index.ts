export * from './module-worker';
