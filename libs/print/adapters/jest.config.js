module.exports = {
  displayName: 'print-adapters',
  preset: '../../../jest.preset.js',
  rootDir: '.',
};
