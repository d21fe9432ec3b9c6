/**
 * JSON Patch (RFC 6902): add, remove, replace, move, copy and test, with JSON Pointers (RFC 6901).
 * A failing operation (missing path, failed test) throws PatchError; the document is untouched.
 */
import { clone, deepEqual, isObject } from './status.ts';
import type { Json } from './status.ts';

/** A patch that cannot be applied to this document (`malformed`: one that cannot even be read). */
export class PatchError extends Error {
  readonly malformed: boolean;
  constructor(message: string, malformed = false) {
    super(message);
    this.malformed = malformed;
  }
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid JSON pointer "${pointer}"`);
  return pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(token: string, length: number, forAdd: boolean): number {
  if (forAdd && token === '-') return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new PatchError(`invalid array index "${token}"`);
  const i = Number(token);
  if (i > length || (!forAdd && i === length)) throw new PatchError(`array index ${i} out of bounds`);
  return i;
}

function parentOf(doc: Json, tokens: string[]): Json {
  let node = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[arrayIndex(t, node.length, false)];
    else if (isObject(node) && Object.hasOwn(node, t)) node = node[t];
    else throw new PatchError(`path not found: /${tokens.join('/')}`);
  }
  return node;
}

function getAt(doc: Json, pointer: string): Json {
  let node = doc;
  const tokens = parsePointer(pointer);
  for (const t of tokens) {
    if (Array.isArray(node)) node = node[arrayIndex(t, node.length, false)];
    else if (isObject(node) && Object.hasOwn(node, t)) node = node[t];
    else throw new PatchError(`path not found: ${pointer}`);
  }
  return node;
}

function add(doc: Json, pointer: string, value: Json): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, true), 0, value);
  else if (isObject(parent)) parent[last] = value;
  else throw new PatchError(`cannot add to a non-container at ${pointer}`);
  return doc;
}

function remove(doc: Json, pointer: string): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw new PatchError('cannot remove the whole document');
  const parent = parentOf(doc, tokens);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, false), 1);
  else if (isObject(parent) && Object.hasOwn(parent, last)) delete parent[last];
  else throw new PatchError(`path not found: ${pointer}`);
  return doc;
}

export function jsonPatch(document: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch must be an array of operations', true);
  let doc = clone(document);
  for (const op of ops) {
    if (!isObject(op) || typeof op.op !== 'string' || typeof op.path !== 'string') throw new PatchError('each operation needs "op" and "path"', true);
    const path = op.path;
    switch (op.op) {
      case 'add':
        if (!('value' in op)) throw new PatchError('add needs a value');
        doc = add(doc, path, clone(op.value));
        break;
      case 'remove':
        doc = remove(doc, path);
        break;
      case 'replace':
        if (!('value' in op)) throw new PatchError('replace needs a value');
        getAt(doc, path);
        doc = path === '' ? clone(op.value) : add(remove(doc, path), path, clone(op.value));
        break;
      case 'move': {
        if (typeof op.from !== 'string') throw new PatchError('move needs "from"');
        const value = getAt(doc, op.from);
        doc = add(remove(doc, op.from), path, value);
        break;
      }
      case 'copy': {
        if (typeof op.from !== 'string') throw new PatchError('copy needs "from"');
        doc = add(doc, path, clone(getAt(doc, op.from)));
        break;
      }
      case 'test':
        if (!deepEqual(getAt(doc, path), op.value ?? null)) throw new PatchError(`testing value ${path} failed: test failed`);
        break;
      default:
        throw new PatchError(`unexpected kind: ${op.op}`, true);
    }
  }
  return doc;
}
