export * from './processes';
export * from './switchyard';
