export * from './command-handler';
export * from './job-decider';
export * from './job-state';
export * from './job-view';
