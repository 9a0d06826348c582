import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { domainFailure } from '@switchyard/contracts/testing';
import { blobKey } from './blob-store';
import { LocalFolderBlobStore } from './local-folder-blob-store';

const filesUnder = async (dir: string): Promise<string[]> =>
  (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();

describe('LocalFolderBlobStore', () => {
  let parent: string;
  let dir: string;
  let blobs: LocalFolderBlobStore;

  beforeEach(async () => {
    parent = await mkdtemp(join(tmpdir(), 'switchyard-local-blobs-'));
    dir = join(parent, 'blobs');
    blobs = new LocalFolderBlobStore(dir);
  });
  afterEach(() => rm(parent, { recursive: true, force: true }));

  it('keeps one file per blob under a folder named by the hash, and no temporary file', async () => {
    const bytes = randomBytes(1000);
    const key = await blobs.put(bytes, 'image/png');
    await Promise.all([blobs.put(bytes, 'image/png'), blobs.put(bytes, 'image/png')]);
    expect(await filesUnder(dir)).toEqual([join(key.slice(7, 9), key)]);
  });

  it('reads what another instance wrote into the same folder (a restart)', async () => {
    const bytes = randomBytes(100);
    const key = await blobs.put(bytes, 'text/plain; charset=utf-8');
    expect(await new LocalFolderBlobStore(dir).get(key)).toEqual({ bytes, contentType: 'text/plain; charset=utf-8' });
  });

  it('keeps a content type holding a newline without confusing it with the bytes', async () => {
    const bytes = Buffer.from('\n{"contentType":"x"}\n');
    const key = await blobs.put(bytes, 'odd\ntype');
    expect(await blobs.get(key)).toEqual({ bytes, contentType: 'odd\ntype' });
  });

  it.each([
    '../outside',
    `sha256-../../${'a'.repeat(58)}`,
    `sha256-${'a'.repeat(62)}/.`,
    `sha256-${'A'.repeat(64)}`,
    `sha256-${'a'.repeat(63)}`,
    `/etc/passwd`,
    '',
  ])('refuses the key %j, which is not a content hash', async (key) => {
    expect((await domainFailure(blobs.get(key))).code).toBe('VALIDATION_FAILED');
    expect((await domainFailure(blobs.delete(key))).code).toBe('VALIDATION_FAILED');
  });

  it('never deletes a file outside its folder', async () => {
    const victim = join(parent, 'victim');
    await writeFile(victim, 'keep me');
    await domainFailure(blobs.delete('../victim'));
    expect(await filesUnder(parent)).toEqual(['victim']);
  });

  it('answers null for a well-formed key with no file', async () => {
    expect(await blobs.get(blobKey(Buffer.from('never stored')))).toBeNull();
  });
});
