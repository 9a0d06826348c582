export * from './image-executor';
export * from './image-jobs';
export * from './ports';
export * from './image-service';
