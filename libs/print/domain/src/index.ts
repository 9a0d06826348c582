export * from './print-job';
export * from './print-state';
export * from './print-view';
export * from './document';
