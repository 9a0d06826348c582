module.exports = {
  displayName: 'credits',
  preset: '../../jest.preset.js',
  rootDir: '.',
};
