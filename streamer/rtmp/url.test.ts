import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RtmpUrlError, parseRtmpUrl } from './url.ts';

const cases: Array<[string, { host: string; port: number; app: string; stream: string; query: string; tcUrl: string }]> = [
  ['rtmp://example.com/live/cam1', { host: 'example.com', port: 1935, app: 'live', stream: 'cam1', query: '', tcUrl: 'rtmp://example.com/live' }],
  ['rtmp://10.0.0.5:1936/live/cam1', { host: '10.0.0.5', port: 1936, app: 'live', stream: 'cam1', query: '', tcUrl: 'rtmp://10.0.0.5:1936/live' }],
  ['rtmp://h/live/inst/cam1', { host: 'h', port: 1935, app: 'live/inst', stream: 'cam1', query: '', tcUrl: 'rtmp://h/live/inst' }],
  [
    'rtmp://h:1935/live/cam1?token=abc&x=1',
    { host: 'h', port: 1935, app: 'live', stream: 'cam1?token=abc&x=1', query: 'token=abc&x=1', tcUrl: 'rtmp://h:1935/live?token=abc&x=1' },
  ],
  [
    'rtmp://h/live/inst/34020000001320000001_34020000001310000001?sign=Zx%2B1',
    {
      host: 'h',
      port: 1935,
      app: 'live/inst',
      stream: '34020000001320000001_34020000001310000001?sign=Zx%2B1',
      query: 'sign=Zx%2B1',
      tcUrl: 'rtmp://h/live/inst?sign=Zx%2B1',
    },
  ],
  ['RTMP://[::1]:19350/app/s', { host: '::1', port: 19350, app: 'app', stream: 's', query: '', tcUrl: 'rtmp://[::1]:19350/app' }],
  ['rtmp://h//live//s/', { host: 'h', port: 1935, app: 'live', stream: 's', query: '', tcUrl: 'rtmp://h/live' }],
];

for (const [url, expected] of cases) {
  test(`parses ${url}`, () => {
    assert.deepEqual({ ...parseRtmpUrl(url) }, expected);
  });
}

test('rejects what is not a publishable rtmp URL', () => {
  for (const bad of [
    'http://h/live/s',
    'rtmps://h/live/s',
    'rtmp://h/live',
    'rtmp://h',
    'rtmp://h:0/live/s',
    'rtmp://h:70000/live/s',
    'rtmp://h:12ab/live/s',
    'rtmp://user:pw@h/live/s',
    'rtmp://[::1/live/s',
    'rtmp://:1935/live/s',
  ]) {
    assert.throws(() => parseRtmpUrl(bad), RtmpUrlError, bad);
  }
});
