import http from 'node:http';
import { createWriteStream } from 'node:fs';

/** Downloads an HTTP-FLV stream into a file until the server ends it; resolves with the bytes written. */
export function downloadFlv(url: string, file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`HTTP-FLV answered ${res.statusCode}`));
          res.resume();
          return;
        }
        const out = createWriteStream(file);
        res.pipe(out);
        out.on('finish', () => resolve(out.bytesWritten));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}
