module.exports = {
  displayName: 'print-domain',
  preset: '../../../jest.preset.js',
  rootDir: '.',
};
