/** The resources being served: built-ins plus those of established CRDs, found by path or by kind. */
import { apiVersionOf } from './resources.ts';
import type { ResourceDef } from './resources.ts';

export class Registry {
  private defs: ResourceDef[] = [];

  constructor(defs: ResourceDef[]) {
    this.defs = [...defs];
  }

  all(): ResourceDef[] {
    return this.defs;
  }

  find(group: string, version: string, resource: string): ResourceDef | undefined {
    return this.defs.find((d) => d.group === group && d.version === version && d.resource === resource);
  }

  byKind(apiVersion: string, kind: string): ResourceDef | undefined {
    return this.defs.find((d) => apiVersionOf(d) === apiVersion && d.kind === kind);
  }

  /** Any served version of a group/kind (owner references name one version; storage is shared). */
  byGroupKind(group: string, kind: string): ResourceDef | undefined {
    return this.defs.find((d) => d.group === group && d.kind === kind && d.preferred) ?? this.defs.find((d) => d.group === group && d.kind === kind);
  }

  /** The definition used to read and write storage: the one whose version is the storage version. */
  storageDef(skey: string): ResourceDef | undefined {
    const served = this.defs.filter((d) => d.skey === skey);
    return served.find((d) => apiVersionOf(d) === d.storageVersion && !d.fromStorage) ?? served[0];
  }

  storageKeys(): string[] {
    return [...new Set(this.defs.map((d) => d.skey))];
  }

  groupVersions(group: string): string[] {
    return [...new Set(this.defs.filter((d) => d.group === group).map((d) => d.version))];
  }

  groups(): string[] {
    return [...new Set(this.defs.filter((d) => d.group !== '').map((d) => d.group))];
  }

  replaceCrdDefs(crd: string, defs: ResourceDef[]): void {
    this.defs = [...this.defs.filter((d) => d.crd !== crd), ...defs];
  }
}
