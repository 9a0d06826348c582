module.exports = {
  displayName: 'jobs-read-model',
  preset: '../../jest.preset.js',
  rootDir: '.',
};
