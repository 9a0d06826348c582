export * from './job-leases';
export * from './job-worker-host';
export * from './migrations';
export * from './submit-job';
