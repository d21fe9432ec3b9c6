/**
 * The objects a pool's pods are made of: the streamer Pod (and with NodePort exposure its Service),
 * built from the GbStreamServer and the port the decision gave it. Pure: test/operator-manifests
 * validates every one against the Kubernetes schemas.
 */
import { randomBytes } from 'node:crypto';
import { annotations, apiVersion, labels, type GbStreamServer } from '../api/types.ts';

/** How pods reach Redis: the operator's URL as a value, or a Secret key (URLs with a password). */
export type RedisSource = { url: string } | { secretName: string; secretKey: string };

export interface PodOptions {
  redis: RedisSource;
  redisPrefix: string;
}

/** The streamer's internal HTTP port (API, HTTP-FLV, health, metrics) inside its pod. */
export const streamerHttpPort = 8081;
/** The media port inside the pod with NodePort exposure (the Service maps its node port here). */
export const nodePortContainerPort = 10000;

const lowerAlnum = 'bcdfghjklmnpqrstvwxz2456789';

/** `<pool>-<5 chars>`, like generateName, but known before the create so labels can name it. */
export function newPodName(pool: string): string {
  const bytes = randomBytes(5);
  let suffix = '';
  for (const b of bytes) suffix += lowerAlnum[b % lowerAlnum.length];
  return `${pool.slice(0, 57)}-${suffix}`;
}

export function podLabels(pool: string, podName?: string): Record<string, string> {
  return {
    [labels.pool]: pool,
    [labels.component]: 'streamer',
    [labels.managedBy]: 'gbcast-operator',
    'app.kubernetes.io/name': 'gbcast',
    ...(podName ? { [labels.pod]: podName } : {}),
  };
}

function ownerReference(pool: GbStreamServer) {
  return { apiVersion, kind: 'GbStreamServer', name: pool.metadata.name, uid: pool.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
}

export function buildPod(pool: GbStreamServer, name: string, port: number, o: PodOptions): Record<string, unknown> {
  const spec = pool.spec;
  const hostPort = spec.media.exposure === 'hostPort';
  const containerPort = hostPort ? port : nodePortContainerPort;
  const redisEnv =
    'url' in o.redis
      ? { name: 'GBCAST_REDIS_URL', value: o.redis.url }
      : { name: 'GBCAST_REDIS_URL', valueFrom: { secretKeyRef: { name: o.redis.secretName, key: o.redis.secretKey } } };
  const env: Record<string, unknown>[] = [
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    { name: 'GBCAST_STREAMER_ID', value: '$(POD_NAME)' },
    { name: 'GBCAST_POOL', value: pool.metadata.name },
    { name: 'GBCAST_RTP_PORT', value: String(containerPort) },
    { name: 'GBCAST_PUBLIC_PORT', value: String(port) },
    { name: 'GBCAST_PUBLIC_ADDRESS_FROM_STORE', value: 'true' },
    { name: 'GBCAST_HTTP_PORT', value: String(streamerHttpPort) },
    { name: 'GBCAST_INTERNAL_URL', value: `http://$(POD_IP):${streamerHttpPort}` },
    redisEnv,
    { name: 'GBCAST_REDIS_PREFIX', value: o.redisPrefix },
    // The pod is deleted only after it drained (or its drain timed out): it may stop at once then.
    { name: 'GBCAST_SHUTDOWN_GRACE_MS', value: '5000' },
    ...(spec.env ?? []),
  ];
  const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({
    httpGet: { path, port: streamerHttpPort },
    periodSeconds,
    failureThreshold,
    timeoutSeconds: 2,
  });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: pool.metadata.namespace,
      labels: podLabels(pool.metadata.name, name),
      annotations: { [annotations.mediaPort]: String(port) },
      ownerReferences: [ownerReference(pool)],
    },
    spec: {
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 15,
      enableServiceLinks: false,
      securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
      ...(spec.nodeSelector ? { nodeSelector: spec.nodeSelector } : {}),
      ...(spec.tolerations ? { tolerations: spec.tolerations } : {}),
      ...(spec.affinity ? { affinity: spec.affinity } : {}),
      containers: [
        {
          name: 'streamer',
          image: spec.image,
          ...(spec.imagePullPolicy ? { imagePullPolicy: spec.imagePullPolicy } : {}),
          args: ['streamer'],
          env,
          ports: [
            { name: 'rtp-udp', containerPort, protocol: 'UDP', ...(hostPort ? { hostPort: port } : {}) },
            { name: 'rtp-tcp', containerPort, protocol: 'TCP', ...(hostPort ? { hostPort: port } : {}) },
            { name: 'http', containerPort: streamerHttpPort, protocol: 'TCP' },
          ],
          readinessProbe: probe('/readyz', 2, 2),
          livenessProbe: probe('/healthz', 10, 3),
          ...(spec.resources ? { resources: spec.resources } : {}),
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  };
}

/** NodePort exposure: the pod's own Service, its node port = the pod's public port, owned by the pod (it goes with it). */
export function buildMediaService(pool: GbStreamServer, podName: string, podUid: string, port: number): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: podName,
      namespace: pool.metadata.namespace,
      labels: podLabels(pool.metadata.name, podName),
      ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: podName, uid: podUid, controller: true, blockOwnerDeletion: false }],
    },
    spec: {
      type: 'NodePort',
      // Devices' source addresses reach the pod unchanged, and only the node running it answers.
      externalTrafficPolicy: 'Local',
      selector: { [labels.pod]: podName },
      ports: [
        { name: 'rtp-udp', protocol: 'UDP', port: nodePortContainerPort, targetPort: nodePortContainerPort, nodePort: port },
        { name: 'rtp-tcp', protocol: 'TCP', port: nodePortContainerPort, targetPort: nodePortContainerPort, nodePort: port },
      ],
    },
  };
}
