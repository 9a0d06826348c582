module.exports = {
  displayName: 'image-render',
  preset: '../../../jest.preset.js',
  rootDir: '.',
};
