/**
 * RTMP URL parsing: `rtmp://host[:port]/app[/instance]/stream[?query]`.
 *
 * The last path segment is the stream name; everything between the host and it is the
 * application (so `live/instance` stays one app, as FMLE, OBS and FFmpeg send it). A query string
 * stays on the stream name (`stream?token=abc`), which is where servers look for publish
 * authentication, and is also appended to tcUrl, where some servers look instead.
 */

export const RTMP_DEFAULT_PORT = 1935;

export interface RtmpTarget {
  readonly host: string;
  readonly port: number;
  /** Application, including any instance: `live` or `live/instance`. */
  readonly app: string;
  /** Stream name as sent in `publish`, with the query kept: `cam1?token=abc`. */
  readonly stream: string;
  /** The query without `?`, or '' when absent. */
  readonly query: string;
  /** tcUrl for `connect`: `rtmp://host[:port]/app[?query]`. */
  readonly tcUrl: string;
}

export class RtmpUrlError extends Error {}

export function parseRtmpUrl(url: string): RtmpTarget {
  const m = /^rtmp:\/\/([^/?#]+)(\/.*)?$/is.exec(url.trim());
  if (!m) throw new RtmpUrlError(`not an rtmp:// URL: ${url}`);
  const authority = m[1];
  const pathAndQuery = m[2] ?? '';

  let host: string;
  let portText: string | undefined;
  if (authority.includes('@')) throw new RtmpUrlError(`credentials in the authority are not supported: ${url}`);
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    if (end < 0) throw new RtmpUrlError(`unterminated IPv6 address: ${url}`);
    host = authority.slice(1, end);
    const after = authority.slice(end + 1);
    if (after !== '') {
      if (!after.startsWith(':')) throw new RtmpUrlError(`bad authority: ${url}`);
      portText = after.slice(1);
    }
  } else {
    const colon = authority.lastIndexOf(':');
    if (colon >= 0) {
      host = authority.slice(0, colon);
      portText = authority.slice(colon + 1);
    } else {
      host = authority;
    }
  }
  if (host === '') throw new RtmpUrlError(`missing host: ${url}`);
  let port = RTMP_DEFAULT_PORT;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      throw new RtmpUrlError(`bad port "${portText}": ${url}`);
    }
    port = Number(portText);
  }

  const q = pathAndQuery.indexOf('?');
  const path = q >= 0 ? pathAndQuery.slice(0, q) : pathAndQuery;
  const query = q >= 0 ? pathAndQuery.slice(q + 1) : '';
  const segments = path.split('/').filter((s) => s !== '');
  if (segments.length < 2) throw new RtmpUrlError(`URL needs an application and a stream name: ${url}`);
  const streamName = segments[segments.length - 1];
  const app = segments.slice(0, -1).join('/');

  const hostPart = host.includes(':') ? `[${host}]` : host;
  const portPart = portText !== undefined ? `:${port}` : '';
  const suffix = query !== '' ? `?${query}` : '';
  return {
    host,
    port,
    app,
    stream: streamName + suffix,
    query,
    tcUrl: `rtmp://${hostPart}${portPart}/${app}${suffix}`,
  };
}
