export * from './migrations';
export * from './print-jobs';
export * from './printers';
export * from './print-executor';
export * from './printer-port';
export * from './print-service';
export * from './printer-adapters';
