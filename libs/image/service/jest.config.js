module.exports = {
  displayName: 'image-service',
  preset: '../../../jest.preset.js',
  rootDir: '.',
};
