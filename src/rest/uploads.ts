/**
 * Request bodies too large to hold in memory (model artifacts up to hundreds of MB): written to a
 * file as they arrive, hashed on the way, and cut off at a byte limit. The stream is paused while a
 * piece is written, so a fast client cannot fill the worker's memory.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import type { Readable } from 'stream';

export class UploadTooLargeError extends Error {
  override name = 'UploadTooLargeError';
  constructor(readonly limit: number) {
    super(`the upload is larger than ${limit} bytes`);
  }
}

export interface Spooled {
  readonly sha256: string;
  readonly size: number;
}

/**
 * Writes `stream` to `file` (created or truncated), returning its sha256 and size. Rejects with
 * UploadTooLargeError as soon as more than `maxBytes` arrived (the rest of the stream is read and
 * dropped, so that an answer can still be sent), or with the stream's error when the client gave up.
 * The file is left to the caller, also on failure.
 */
export async function spoolToFile(stream: Readable, file: string, maxBytes: number): Promise<Spooled> {
  const hash = createHash('sha256');
  let size = 0;
  // listeners first (synchronously): the stream may end or fail while the file is being opened
  const opening = fs.promises.open(file, 'w');
  opening.catch(() => undefined);
  let writing: Promise<unknown> = opening;
  const received = new Promise<void>((resolve, reject) => {
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      reject(e);
    };
    if (stream.destroyed && !stream.readableEnded) {
      fail(new Error('the upload was aborted before its end'));
      return;
    }
    stream.on('data', (chunk: Buffer | string) => {
      if (settled) return; // dropping what comes after a refusal
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += bytes.length;
      if (size > maxBytes) {
        fail(new UploadTooLargeError(maxBytes));
        stream.resume();
        return;
      }
      hash.update(bytes);
      stream.pause();
      writing = writing.then(async () => {
        const handle = await opening;
        let done = 0;
        while (done < bytes.length) done += (await handle.write(bytes, done, bytes.length - done)).bytesWritten;
        stream.resume(); // after a refusal too: the rest is read and dropped
      });
      writing.catch(fail);
    });
    stream.once('end', () => {
      void writing.then(() => {
        if (settled) return;
        settled = true;
        resolve();
      }, fail);
    });
    stream.once('error', fail);
    stream.once('close', () => {
      // closed without 'end': the client went away in the middle of the upload
      if (!stream.readableEnded) fail(new Error('the upload was aborted before its end'));
    });
  });
  try {
    await received;
    await writing;
  } finally {
    await writing.catch(() => undefined);
    await (await opening.catch(() => null))?.close();
  }
  return { sha256: hash.digest('hex'), size };
}
