#!/usr/bin/env node
// Stamps out an Nx project with the workspace's lint/test/typecheck/build targets:
//   node tools/scripts/new-project.mjs libs/credits type:domain [library|application]
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, relative, basename } from 'node:path';

const [root, tag, projectType = 'library'] = process.argv.slice(2);
if (!root || !tag) {
  console.error('usage: new-project.mjs <root> <tag> [library|application]');
  process.exit(2);
}
const up = relative(root, '.') || '.';
const name = root.split('/').slice(1).join('-') || basename(root);
const write = (file, text) => {
  const path = join(root, file);
  if (!existsSync(path)) writeFileSync(path, text);
};
mkdirSync(join(root, 'src'), { recursive: true });
write(
  'project.json',
  JSON.stringify(
    {
      name,
      $schema: `${up}/node_modules/nx/schemas/project-schema.json`,
      sourceRoot: `${root}/src`,
      projectType,
      tags: [tag],
      targets: {
        lint: { executor: '@nx/eslint:lint' },
        // Jest runs as its own process: PGlite needs --experimental-vm-modules for its dynamic imports.
        test: {
          executor: 'nx:run-commands',
          outputs: [`{workspaceRoot}/tmp/test-results/${name}.json`],
          options: {
            command: `mkdir -p tmp/test-results && node --experimental-vm-modules --disable-warning=ExperimentalWarning node_modules/jest/bin/jest.js -c ${root}/jest.config.js --json --outputFile=tmp/test-results/${name}.json`,
          },
        },
        typecheck: {
          executor: 'nx:run-commands',
          options: { command: `tsc -p ${root}/tsconfig.json --noEmit` },
        },
        build: {
          executor: 'nx:run-commands',
          outputs: [`{workspaceRoot}/dist/${root}`],
          options: { command: `tsc -p ${root}/tsconfig.build.json` },
        },
      },
    },
    null,
    2,
  ) + '\n',
);
write(
  'jest.config.js',
  `module.exports = {\n  displayName: '${name}',\n  preset: '${up}/jest.preset.js',\n  rootDir: '.',\n};\n`,
);
write(
  'tsconfig.json',
  JSON.stringify({ extends: `${up}/tsconfig.base.json`, compilerOptions: { types: ['node', 'jest'] }, include: ['src/**/*.ts'] }, null, 2) + '\n',
);
write(
  'tsconfig.build.json',
  JSON.stringify(
    {
      extends: `${up}/tsconfig.base.json`,
      compilerOptions: { outDir: `${up}/dist/${root}`, declaration: true },
      include: ['src/**/*.ts'],
      exclude: ['src/**/*.spec.ts', 'src/testing/**'],
    },
    null,
    2,
  ) + '\n',
);
console.log(`created ${name} at ${root} (${tag})`);
