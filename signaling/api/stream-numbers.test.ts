import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReceiverInfo } from '../../common/contracts.ts';
import { StreamNumbersReader } from './stream-numbers.ts';

function receiver(streamId: string, bytes: number, openedAt: number, viewers = 0): ReceiverInfo {
  return { streamId, ssrc: '1', transport: 'udp', state: 'receiving', openedAt, packets: 1, bytes, lost: 0, framesOut: 1, viewers };
}

const T = 1_700_000_000_000;

test('one request per streamer; bitrate from two readings, the average since opening at first; a failing streamer leaves numbers out', async () => {
  const asked: string[] = [];
  let bytes = 250_000;
  const reader = new StreamNumbersReader({
    minSampleMs: 1000,
    fetch: async (url) => {
      asked.push(url);
      if (url === 'http://dead') throw new Error('ECONNREFUSED');
      return [receiver('a', bytes, T, 2), receiver('b', 10, T)];
    },
  });
  const sessions = [
    { streamId: 'a', streamerUrl: 'http://s1', createdAt: T },
    { streamId: 'b', streamerUrl: 'http://s1', createdAt: T + 500 },
    { streamId: 'c', streamerUrl: 'http://dead', createdAt: T },
  ];
  const rtmp = async (s: { streamId: string }) => (s.streamId === 'a' ? 3 : 0);
  const first = await reader.read(sessions, rtmp, T + 1000);
  assert.deepEqual(asked.sort(), ['http://dead', 'http://s1']);
  assert.equal(first.get('a')!.bitrateIn, 2_000_000, '250 kB in the first second');
  assert.equal(first.get('a')!.viewers, 5);
  assert.equal(first.get('a')!.flvViewers, 2);
  assert.equal(first.get('b')!.ageMs, 500);
  assert.deepEqual(first.get('c'), { rtmpViewers: 0, viewers: 0, ageMs: 1000, streamerReachable: false });

  bytes += 50_000;
  const soon = await reader.read(sessions, rtmp, T + 1500);
  assert.equal(soon.get('a')!.bitrateIn, 2_000_000, 'readings closer than minSampleMs keep the last rate');
  const later = await reader.read(sessions, rtmp, T + 3000);
  assert.equal(later.get('a')!.bitrateIn, 200_000, '50 kB over the 2 s since the last sample');
});
