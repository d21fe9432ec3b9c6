/**
 * A streamer started with --public-address-from-store (as the operator starts pods) is not offered
 * to signaling until the operator writes its public address to the store, then reports it, answers
 * receivers with it, and follows a change.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryBackend } from '../common/store/memory/backend.ts';
import { startTestStreamer, api } from './support/streamer.ts';
import { waitFor } from './support/wait.ts';

test('the public address comes from the store: not ready and not in the pool until it is there', async () => {
  const backend = createMemoryBackend();
  const streamer = await startTestStreamer({ publicAddressFromStore: true, publicAddress: undefined, reportIntervalMs: 200, pool: 'edge' }, { backend });
  try {
    const id = streamer.config.streamerId;
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(await backend.streamers.listPool('edge'), [], 'not offered to signaling without an address');
    assert.equal(streamer.readiness().ready, false);
    const refused = await api(streamer, 'POST', '/api/v1/receivers', { streamId: 's1', ssrc: '100', transport: 'udp' });
    assert.equal(refused.status, 503);

    await backend.streamers.setPublicAddress(id, '203.0.113.9');
    const [record] = await waitFor('the record with the address', async () => {
      const pool = await backend.streamers.listPool('edge');
      return pool.length === 1 ? pool : undefined;
    }, 5000);
    assert.equal(record.address, '203.0.113.9');
    assert.equal(streamer.readiness().ready, true);
    const opened = await api<{ address: string }>(streamer, 'POST', '/api/v1/receivers', { streamId: 's1', ssrc: '100', transport: 'udp' });
    assert.equal(opened.body.address, '203.0.113.9');

    await backend.streamers.setPublicAddress(id, '203.0.113.10');
    await waitFor('the new address', async () => (await backend.streamers.listPool('edge'))[0]?.address === '203.0.113.10', 5000);
  } finally {
    await streamer.stop();
    await backend.close();
  }
});
