import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFakeKube, type FakeKube } from '../../test/support/fake-kube/index.ts';
import { waitFor } from '../../test/support/wait.ts';
import { isConflict, KubeClient, resources } from './client.ts';
import { addFinalizer, controllerKey, controllerOf, hasFinalizer, isControlledBy, isDeleting, ownerRef, removeFinalizer } from './objects.ts';
import type { Secret } from './types.ts';

describe('owner references and finalizers', () => {
  let kube: FakeKube;
  let client: KubeClient;

  before(async () => {
    kube = await startFakeKube({ controllerDelayMs: 5 });
    client = KubeClient.fromKubeConfig(kube.kubeConfig());
  });
  after(async () => {
    client.close();
    await kube.stop();
  });

  const secret = (name: string, extra: Partial<Secret['metadata']> = {}) => client.create(resources.secrets, { metadata: { name, namespace: 'default', ...extra } });

  it('ownerRef makes a dependent the garbage collector deletes with its owner', async () => {
    const owner = await secret('owner');
    const ref = ownerRef(owner);
    assert.deepEqual(ref, { apiVersion: 'v1', kind: 'Secret', name: 'owner', uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true });
    assert.equal(ownerRef(owner, false).controller, false);
    const dependent = await secret('dependent', { ownerReferences: [ref] });
    assert.deepEqual(controllerOf(dependent), ref);
    assert.ok(isControlledBy(dependent, owner));
    assert.ok(!isControlledBy(owner, dependent));
    assert.equal(controllerKey(resources.secrets)(dependent), 'default/owner');
    assert.equal(controllerKey(resources.gbStreamServers)(dependent), undefined, 'another kind of owner');
    assert.equal(controllerKey(resources.secrets)(owner), undefined, 'no owner');
    await client.delete(resources.secrets, 'owner', { namespace: 'default' });
    await waitFor('the dependent is collected', async () => !(await client.tryGet(resources.secrets, 'dependent', 'default')));
    assert.throws(() => ownerRef({ metadata: { name: 'x', uid: 'u' } }), /apiVersion/);
    assert.throws(() => ownerRef({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } }), /uid/);
  });

  it('adds and removes finalizers; removing the last one of a deleted object lets it go', async () => {
    let obj = await secret('fin');
    obj = await addFinalizer(client, resources.secrets, obj, 'gbcast.io/a');
    assert.deepEqual(obj.metadata.finalizers, ['gbcast.io/a']);
    const same = await addFinalizer(client, resources.secrets, obj, 'gbcast.io/a');
    assert.equal(same, obj, 'already there: no write');
    obj = await addFinalizer(client, resources.secrets, obj, 'gbcast.io/b');
    assert.deepEqual(obj.metadata.finalizers, ['gbcast.io/a', 'gbcast.io/b']);
    assert.ok(hasFinalizer(obj, 'gbcast.io/b'));

    await client.delete(resources.secrets, 'fin', { namespace: 'default' });
    obj = await client.get(resources.secrets, 'fin', 'default');
    assert.ok(isDeleting(obj), 'held by the finalizers');
    obj = (await removeFinalizer(client, resources.secrets, obj, 'gbcast.io/a'))!;
    assert.deepEqual(obj.metadata.finalizers, ['gbcast.io/b']);
    assert.equal(await removeFinalizer(client, resources.secrets, obj, 'gbcast.io/other'), obj, 'absent: no write');
    await removeFinalizer(client, resources.secrets, obj, 'gbcast.io/b');
    assert.equal(await client.tryGet(resources.secrets, 'fin', 'default'), undefined, 'gone once no finalizer is left');
    assert.equal(await removeFinalizer(client, resources.secrets, obj, 'gbcast.io/b'), undefined, 'an object already gone');
  });

  it('a concurrent finalizer change is a conflict, never lost: retried from a fresh read', async () => {
    const stale = await addFinalizer(client, resources.secrets, await secret('race'), 'gbcast.io/a');
    // Someone else adds theirs after we read.
    await client.patchMerge(resources.secrets, 'race', { metadata: { finalizers: ['gbcast.io/a', 'someone/else'] } }, { namespace: 'default' });
    await assert.rejects(addFinalizer(client, resources.secrets, stale, 'gbcast.io/b', { retries: 0 }), isConflict);
    await assert.rejects(removeFinalizer(client, resources.secrets, stale, 'gbcast.io/a', { retries: 0 }), isConflict);
    const added = await addFinalizer(client, resources.secrets, stale, 'gbcast.io/b');
    assert.deepEqual(added.metadata.finalizers, ['gbcast.io/a', 'someone/else', 'gbcast.io/b']);
    const removed = await removeFinalizer(client, resources.secrets, stale, 'gbcast.io/a');
    assert.deepEqual(removed!.metadata.finalizers, ['someone/else', 'gbcast.io/b']);

    // The first finalizer of an object is pinned by its resourceVersion.
    const fresh = await secret('race2');
    await client.patchMerge(resources.secrets, 'race2', { metadata: { labels: { changed: 'yes' } } }, { namespace: 'default' });
    await assert.rejects(addFinalizer(client, resources.secrets, fresh, 'gbcast.io/a', { retries: 0 }), isConflict);
    assert.deepEqual((await addFinalizer(client, resources.secrets, fresh, 'gbcast.io/a')).metadata.finalizers, ['gbcast.io/a']);
  });
});
