import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { assertBlobKey, blobKey, type Blob, type BlobStore } from './blob-store';

// One file per blob, `{"contentType":…}\n` then the bytes: bytes and type become visible together in one
// rename. JSON escapes every newline, so the first one always ends the header.
const HEADER_END = 0x0a;

const isMissing = (error: unknown): boolean => (error as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * Blobs as files under one folder: the embedded default, no database rows and no service to run.
 * Not shared between machines: a distributed install uses the Postgres or S3 store.
 */
export class LocalFolderBlobStore implements BlobStore {
  private readonly root: string;

  constructor(dir: string) {
    this.root = resolve(dir);
  }

  async put(bytes: Buffer, contentType: string): Promise<string> {
    const key = blobKey(bytes);
    const { folder, file } = this.locate(key);
    // Same bytes, same key: the first write stands, as in PostgresBlobStore (ON CONFLICT DO NOTHING).
    if (await exists(file)) return key;
    await mkdir(folder, { recursive: true });
    const temp = join(folder, `.${key}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const handle = await open(temp, 'wx', 0o644);
      try {
        await handle.writeFile(Buffer.concat([Buffer.from(`${JSON.stringify({ contentType })}\n`), bytes]));
        // Flushed before the rename, so a crash never leaves a complete name over incomplete bytes.
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, file);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    await syncFolder(folder);
    return key;
  }

  async get(key: string): Promise<Blob | null> {
    const { file } = this.locate(key);
    let content: Buffer;
    try {
      content = await readFile(file);
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
    const end = content.indexOf(HEADER_END);
    if (end < 0) throw new Error(`blob file ${file} has no header`);
    const header = JSON.parse(content.subarray(0, end).toString('utf8')) as { contentType: string };
    return { bytes: content.subarray(end + 1), contentType: header.contentType };
  }

  async delete(key: string): Promise<void> {
    await rm(this.locate(key).file, { force: true });
  }

  /** `<root>/<first two hex digits>/<key>`: 256 folders keep any one folder small. */
  private locate(key: string): { folder: string; file: string } {
    assertBlobKey(key);
    const folder = join(this.root, key.slice('sha256-'.length, 'sha256-'.length + 2));
    const file = join(folder, key);
    // The key pattern already rules out separators and `..`; this keeps it so if the pattern ever widens.
    if (!file.startsWith(this.root + sep)) throw new Error(`blob key ${key} leaves ${this.root}`);
    return { folder, file };
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}

/** Makes the rename itself durable (the new directory entry), not only the file's bytes. */
async function syncFolder(folder: string): Promise<void> {
  let handle;
  try {
    handle = await open(folder, 'r');
  } catch (error) {
    // Windows cannot open a folder as a file; its renames are durable without this.
    if (['EISDIR', 'EPERM', 'EACCES'].includes((error as NodeJS.ErrnoException).code ?? '')) return;
    throw error;
  }
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
