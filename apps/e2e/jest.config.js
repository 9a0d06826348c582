module.exports = {
  displayName: 'e2e',
  preset: '../../jest.preset.js',
  rootDir: '.',
  // The suites start real processes that answer the shared `cmd.print.*` subjects on one NATS:
  // one suite at a time, so a gateway only ever reaches its own print service.
  maxWorkers: 1,
  testTimeout: 60_000,
};
