/**
 * What the two controllers' shells need from the machinery, as narrow interfaces: a cache of
 * objects (an informer's) and a place to record Events. Kept narrow so a shell can be driven by
 * plain maps in a test.
 */
import type { KubeObject } from './kube/types.ts';

export interface ObjectCache<T> {
  getByName(name: string, namespace?: string): T | undefined;
  list(): T[];
}

export interface EventSink {
  /** Records a Kubernetes Event about `regarding`; never throws. */
  emit(regarding: KubeObject, type: 'Normal' | 'Warning', reason: string, note: string): void;
}

export function keyOf(obj: KubeObject): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
}
