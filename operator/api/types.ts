/**
 * The custom resources (`gbcast.io/v1alpha1`), as TypeScript. crds/*.yaml are their schemas; the
 * two must agree (test/crds.test.ts checks the examples and these shapes against the CRDs).
 */

export const group = 'gbcast.io';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}`;

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface Condition {
  /** Ready, Scaling or Degraded. */
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

// ---------------------------------------------------------------------------------------------
// GbStreamServer: a pool of streamer pods.

export interface GbStreamServerSpec {
  /** Pods wanted when autoscaling is off (the scale subresource writes it). */
  replicas: number;
  autoscaling?: {
    enabled: boolean;
    minReplicas: number;
    maxReplicas: number;
    /** Streams one pod should carry; desired = ceil(streams × (1 + headroom%) / target). */
    targetStreamsPerPod: number;
    headroomPercent: number;
    /** How long the load must stay low before pods are drained away. */
    scaleDownDelaySeconds: number;
  };
  media: {
    /** hostPort: a port per pod from portRange on the node; NodePort: a Service per pod. */
    exposure: 'hostPort' | 'NodePort';
    /** Ports handed to pods (hostPort) or to their Services (NodePort), inclusive. */
    portRange: { min: number; max: number };
  };
  /**
   * The address cameras send media to: `override` for every pod, else the node's annotation
   * `gbcast.io/public-address`, else its ExternalIP, else its InternalIP (addressType changes the order).
   */
  publicAddress?: { override?: string; addressType?: 'ExternalIP' | 'InternalIP' };
  /** Where streams are pushed when a play names no RTMP URL ({deviceId}, {channelId}, {streamId}). */
  rtmpUrlTemplate?: string;
  image: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  resources?: Record<string, unknown>;
  nodeSelector?: Record<string, string>;
  tolerations?: Record<string, unknown>[];
  affinity?: Record<string, unknown>;
  /** Extra environment for the streamer (GBCAST_* options). */
  env?: { name: string; value?: string; valueFrom?: Record<string, unknown> }[];
  /** A draining pod is deleted once its streams reach zero, or after this long at the latest. */
  drainTimeoutSeconds: number;
}

export interface GbStreamServerPodStatus {
  name: string;
  node?: string;
  address?: string;
  port?: number;
  ready: boolean;
  draining: boolean;
  streams: number;
}

export interface GbStreamServerStatus {
  replicas: number;
  readyReplicas: number;
  drainingReplicas: number;
  activeStreams: number;
  /** Streams the ready, non-draining pods can take at the target (autoscaling) or at their maximum. */
  capacity: number;
  /** Label selector of the pool's pods, for the scale subresource (HPA, kubectl scale). */
  selector: string;
  pods: GbStreamServerPodStatus[];
  /** Autoscaling: since when fewer pods would do (the scale-down delay runs from here); kept in status so a restarted operator keeps counting. */
  lowLoadSince?: string;
  conditions: Condition[];
  observedGeneration: number;
}

export interface GbStreamServer {
  apiVersion: typeof apiVersion;
  kind: 'GbStreamServer';
  metadata: ObjectMeta;
  spec: GbStreamServerSpec;
  status?: Partial<GbStreamServerStatus>;
}

// ---------------------------------------------------------------------------------------------
// GbCamera: one device.

export interface GbCameraSpec {
  /** The device's 20-digit GB28181 ID. */
  deviceId: string;
  /** The Secret (same namespace) and key holding the device's SIP password. */
  passwordSecretRef: { name: string; key: string };
  displayName?: string;
  /** The GbStreamServer pool its streams go to; signaling's default pool when unset. */
  pool?: string;
  /** Channels kept streaming all the time (re-invited on another streamer when theirs dies or drains). */
  alwaysOn?: { channelId: string; rtmpUrl?: string }[];
  transport?: 'udp' | 'tcp-passive' | 'tcp-active';
}

export interface GbCameraStatus {
  online: boolean;
  lastKeepalive?: string;
  address?: string;
  manufacturer?: string;
  model?: string;
  firmware?: string;
  channelCount?: number;
  activeStreams: number;
  conditions: Condition[];
  observedGeneration: number;
}

export interface GbCamera {
  apiVersion: typeof apiVersion;
  kind: 'GbCamera';
  metadata: ObjectMeta;
  spec: GbCameraSpec;
  status?: Partial<GbCameraStatus>;
}

/** Labels and annotations the operator writes and reads. */
export const labels = {
  pool: 'gbcast.io/pool',
  component: 'app.kubernetes.io/component',
  managedBy: 'app.kubernetes.io/managed-by',
  /** On a pool's pod Service (NodePort): the pod it exposes. */
  pod: 'gbcast.io/pod',
} as const;

export const annotations = {
  /** On a Node: the public address of that node (NAT, several addresses). */
  nodePublicAddress: 'gbcast.io/public-address',
  /** On a pod: the media port given to it. */
  mediaPort: 'gbcast.io/media-port',
  /** On a pod: when the operator marked it draining (ISO time). */
  drainingSince: 'gbcast.io/draining-since',
} as const;

/** Finalizer on GbCamera: its credential and configuration are removed from Redis first. */
export const cameraFinalizer = 'gbcast.io/camera-cleanup';
