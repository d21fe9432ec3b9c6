/** Brings up what the operator tests need: the fake API server with our CRDs, and an operator. */
import { parseConfig } from '../../common/config.ts';
import { createLogger, silentLogger } from '../../common/logger.ts';
import { operatorOptions } from '../../operator/config.ts';
import { Operator } from '../../operator/operator.ts';
import type { StoreBackend } from '../../common/store/backend.ts';
import { KubeClient } from '../../operator/kube/client.ts';
import { startFakeKube, type FakeKube } from './fake-kube/index.ts';
import { gbcastCrds } from './kube-schemas.ts';
import { waitFor } from './wait.ts';

export const testNamespace = 'video';

/** The fake API server with the CRDs installed and served, and the test namespace. */
export async function startKubeWithCrds(): Promise<{ kube: FakeKube; client: KubeClient }> {
  const kube = await startFakeKube({ namespaces: ['default', 'kube-system', testNamespace] });
  const client = KubeClient.fromKubeConfig(kube.kubeConfig());
  const crds = gbcastCrds();
  for (const crd of [crds.streamServer, crds.camera]) kube.create(crd as never);
  await waitFor('the CRDs served', async () => {
    try {
      await client.list({ group: 'gbcast.io', version: 'v1alpha1', plural: 'gbcameras', namespaced: true, kind: 'GbCamera' }, { namespace: testNamespace });
      await client.list({ group: 'gbcast.io', version: 'v1alpha1', plural: 'gbstreamservers', namespaced: true, kind: 'GbStreamServer' }, { namespace: testNamespace });
      return true;
    } catch {
      return false;
    }
  }, 5000);
  return { kube, client };
}

/** An operator on the fake API server; on Redis at `redisUrl`, or on `backend` when given (the URL is then unused). */
export async function startTestOperator(kube: FakeKube, redisUrl: string, flags: string[] = [], backend?: StoreBackend): Promise<Operator> {
  const config = parseConfig(operatorOptions, [
    `--redis-url=${redisUrl}`,
    '--http-host=127.0.0.1',
    '--http-port=0',
    `--namespace=${testNamespace}`,
    '--lease-namespace=default',
    '--lease-duration-s=3',
    '--lease-renew-deadline-s=2',
    '--lease-retry-s=0.3',
    '--resync-s=10',
    `--identity=operator-${Math.random().toString(36).slice(2, 8)}`,
    ...flags,
  ], {});
  const logger = process.env.GBCAST_TEST_LOGS ? createLogger('operator', 'debug') : silentLogger();
  const operator = new Operator(config, logger, { kubeConfig: kube.kubeConfig(), ...(backend ? { backend } : {}) });
  await operator.start();
  return operator;
}
