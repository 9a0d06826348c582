module.exports = {
  displayName: 'image-domain',
  preset: '../../../jest.preset.js',
  rootDir: '.',
};
