module.exports = {
  displayName: 'print-service',
  preset: '../../../jest.preset.js',
  rootDir: '.',
};
