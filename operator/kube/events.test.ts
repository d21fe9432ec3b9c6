import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFakeKube, type FakeKube } from '../../test/support/fake-kube/index.ts';
import { KubeClient, resources } from './client.ts';
import { EventRecorder, referenceTo } from './events.ts';
import type { KubeEvent, KubeObject } from './types.ts';

describe('EventRecorder', () => {
  let kube: FakeKube;
  let client: KubeClient;
  let n = 0;

  before(async () => {
    kube = await startFakeKube();
    client = KubeClient.fromKubeConfig(kube.kubeConfig());
  });
  after(async () => {
    client.close();
    await kube.stop();
  });

  /** A fresh Secret to talk about (events are listed by the object they regard). */
  const subject = async (): Promise<KubeObject> => client.create(resources.secrets, { metadata: { name: `subject-${++n}`, namespace: 'default' } });
  const eventsAbout = async (obj: KubeObject): Promise<KubeEvent[]> =>
    (await client.list(resources.events, { namespace: 'default' })).items.filter((e) => e.regarding.uid === obj.metadata.uid);

  it('writes an events.k8s.io/v1 Event regarding the object', async () => {
    const obj = await subject();
    const events = new EventRecorder(client, { instance: 'operator-0' });
    events.emit(obj, 'Normal', 'Created', 'pod pool-abcde created', 'Create');
    await events.flush();
    const [e] = await eventsAbout(obj);
    assert.equal(e.type, 'Normal');
    assert.equal(e.reason, 'Created');
    assert.equal(e.action, 'Create');
    assert.equal(e.note, 'pod pool-abcde created');
    assert.equal(e.reportingController, 'gbcast.io/operator');
    assert.equal(e.reportingInstance, 'operator-0');
    assert.deepEqual(e.regarding, referenceTo(obj));
    assert.equal(e.regarding.kind, 'Secret');
    assert.match(e.eventTime, /\.\d{6}Z$/);
    assert.equal(e.series, undefined);
    assert.ok(e.metadata.name.startsWith(`${obj.metadata.name}.`));
  });

  it('a repeat within the window updates the series instead of adding an Event', async () => {
    const obj = await subject();
    let now = Date.parse('2030-01-01T00:00:00Z');
    const events = new EventRecorder(client, { now: () => now });
    events.warning(obj, 'NoPorts', 'port range exhausted');
    await events.flush();
    events.warning(obj, 'NoPorts', 'port range exhausted');
    now += 60_000;
    events.warning(obj, 'NoPorts', 'port range exhausted');
    await events.flush();
    let list = await eventsAbout(obj);
    assert.equal(list.length, 1);
    assert.equal(list[0].series?.count, 3);
    assert.equal(list[0].series?.lastObservedTime, '2030-01-01T00:01:00.000000Z');
    assert.equal(list[0].type, 'Warning');
    assert.equal(list[0].action, 'NoPorts', 'action defaults to the reason');

    // Another note, reason or type is another Event.
    events.warning(obj, 'NoPorts', 'port range exhausted (2)');
    events.normal(obj, 'NoPorts', 'port range exhausted');
    await events.flush();
    assert.equal((await eventsAbout(obj)).length, 3);

    // After the window: a new Event.
    now += 11 * 60_000;
    events.warning(obj, 'NoPorts', 'port range exhausted');
    await events.flush();
    list = await eventsAbout(obj);
    assert.equal(list.length, 4);
    // Repeats made while a write is under way are folded into the next write.
    assert.deepEqual(events.counts, { created: 4, seriesUpdates: 1, suppressed: 0, failed: 0 });
  });

  it('an Event that is gone (expired) is created again on the next repeat', async () => {
    const obj = await subject();
    const events = new EventRecorder(client);
    events.normal(obj, 'Scaled', 'to 3');
    await events.flush();
    const [first] = await eventsAbout(obj);
    await client.delete(resources.events, first.metadata.name, { namespace: 'default' });
    events.normal(obj, 'Scaled', 'to 3');
    await events.flush();
    const list = await eventsAbout(obj);
    assert.equal(list.length, 1);
    assert.notEqual(list[0].metadata.name, first.metadata.name);
    assert.equal(list[0].series?.count, 2, 'the new Event carries the count so far');
  });

  it('rate limits per object; a suppressed repeat is counted by the next write', async () => {
    const noisy = await subject();
    const quiet = await subject();
    let now = Date.parse('2030-01-01T00:00:00Z');
    const events = new EventRecorder(client, { burst: 3, refillMs: 60_000, now: () => now });
    for (let i = 0; i < 10; i++) events.warning(noisy, `Failed${i}`, 'something failed');
    events.warning(quiet, 'Failed', 'something failed');
    await events.flush();
    assert.equal((await eventsAbout(noisy)).length, 3, 'a burst of 3, then nothing');
    assert.equal((await eventsAbout(quiet)).length, 1, 'other objects are not held back');
    assert.equal(events.counts.suppressed, 7);

    events.warning(noisy, 'Failed0', 'something failed');
    await events.flush();
    assert.equal(events.counts.suppressed, 8);
    now += 60_000;
    events.warning(noisy, 'Failed0', 'something failed');
    await events.flush();
    const failed0 = (await eventsAbout(noisy)).find((e) => e.reason === 'Failed0')!;
    assert.equal(failed0.series?.count, 3, 'the suppressed repeat is in the count');
  });

  it('never throws: API failures and bad input are logged', async () => {
    const obj = await subject();
    const events = new EventRecorder(client);
    kube.failNext({ method: 'POST', pathPattern: '/events', status: 500 });
    events.normal(obj, 'Created', 'x');
    await events.flush();
    assert.equal(events.counts.failed, 1);
    events.normal({ metadata: { name: 'no-kind' } }, 'Created', 'x');
    await events.flush();
    // The next occurrence is written (the first never was).
    events.normal(obj, 'Created', 'x');
    await events.flush();
    assert.equal((await eventsAbout(obj)).length, 1);
  });

  it('cuts long notes to 1 kB and makes names that fit', async () => {
    const long = await client.create(resources.secrets, { metadata: { name: `${'x'.repeat(240)}-${++n}`, namespace: 'default' } });
    const events = new EventRecorder(client);
    events.normal(long, 'Long', '€'.repeat(2000));
    await events.flush();
    const [e] = await eventsAbout(long);
    assert.ok(Buffer.byteLength(e.note!) <= 1024);
    assert.ok(e.note!.endsWith('...'));
    assert.ok(e.metadata.name.length <= 253);
  });
});
