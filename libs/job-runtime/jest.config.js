module.exports = {
  displayName: 'job-runtime',
  preset: '../../jest.preset.js',
  rootDir: '.',
};
