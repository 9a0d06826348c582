export * from './image-job';
export * from './image-view';
