/**
 * A CustomResourceDefinition's schema the way the Kubernetes API server uses it, for tests
 * (kube-schemas.ts, crds.test.ts) and for the fake API server (fake-kube/); it depends on nothing of
 * the fake:
 *
 * - `crdErrors` / `schemaErrors` (crd.ts, structural.ts): what the API server refuses in a CRD (a
 *   schema that is not structural, misused x-kubernetes-* extensions, defaults that do not validate,
 *   CEL rules that do not compile against the schema's types, bad names, versions, subresources or
 *   printer columns);
 * - `CompiledSchema` (validate.ts): what it does to a custom resource on create and update: prune
 *   unknown fields and fill defaults (prune-default.ts), validate the OpenAPI keywords and list types,
 *   then run the x-kubernetes-validations CEL rules (cel.ts) unless a blocking error came first.
 *
 * Errors are field errors worded as the API server words them (../kube-fields.ts).
 */
export type { CrdVersion, CustomResourceDefinition } from './crd.ts';
export { compileSchema, compiledSchemaOf, crdErrors } from './crd.ts';
export { applyDefaults, pruneUnknownFields } from './prune-default.ts';
export type { SchemaCheckOptions } from './structural.ts';
export { schemaErrors } from './structural.ts';
export type { SchemaType, StructuralSchema, ValidationRule } from './types.ts';
export type { AdmitOptions, AdmitResult } from './validate.ts';
export { CompiledSchema } from './validate.ts';
