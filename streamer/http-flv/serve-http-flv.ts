/**
 * The HTTP side of one HTTP-FLV viewer: response headers, then the response is handed to the stream's
 * FlvBroadcaster, which writes the FLV bytes until the viewer or the stream goes away.
 *
 * Called with the raw Node request/response (from a fastify route after `reply.hijack()`).
 * HTTP/1.1 responses are chunked and may keep the connection alive after the stream ends; HTTP/1.0
 * clients get `Connection: close` and an unframed body that ends with the connection.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FlvBroadcaster } from './flv-broadcaster.ts';

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
} as const;

export function serveHttpFlv(req: IncomingMessage, res: ServerResponse, broadcaster: FlvBroadcaster): void {
  if (req.method === 'OPTIONS') {
    res.writeHead(204, {
      ...CORS,
      'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] ?? '*',
      'Access-Control-Max-Age': '86400',
    });
    res.end();
    return;
  }
  const headers: Record<string, string> = {
    ...CORS,
    'Content-Type': 'video/x-flv',
    'Cache-Control': 'no-cache, no-store, must-revalidate',
    Pragma: 'no-cache',
    Expires: '0',
  };
  if (req.httpVersionMajor === 1 && req.httpVersionMinor === 0) headers.Connection = 'close';
  if (req.method === 'HEAD') {
    res.writeHead(200, headers);
    res.end();
    return;
  }
  res.writeHead(200, headers);
  res.flushHeaders();
  res.socket?.setNoDelay(true);
  broadcaster.addViewer(res);
}
