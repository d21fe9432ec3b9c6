/**
 * The API token (signaling's --api-token): kept in localStorage, asked for when the API answers
 * 401. Concurrent 401s share one question; every waiting request retries with the answer.
 */
const storageKey = 'gbcast.apiToken';

function readStored(): string | undefined {
  try {
    return localStorage.getItem(storageKey) ?? undefined;
  } catch {
    return undefined; // storage disabled: ask each time the page loads
  }
}

let token = readStored();

export interface TokenQuestion {
  /** A token was sent and refused (else none was known). */
  refused: boolean;
}

let question: (TokenQuestion & { promise: Promise<string>; resolve: (token: string) => void }) | undefined;
const listeners = new Set<() => void>();

export function currentToken(): string | undefined {
  return token;
}

export function authHeaders(): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** Asks the person for a token (once for all callers); resolves when they gave one. */
export function askForToken(refused: boolean): Promise<string> {
  if (!question) {
    let resolve!: (token: string) => void;
    const promise = new Promise<string>((r) => (resolve = r));
    question = { refused, promise, resolve };
    for (const l of listeners) l();
  }
  return question.promise;
}

export function pendingTokenQuestion(): TokenQuestion | undefined {
  return question ? { refused: question.refused } : undefined;
}

export function answerToken(value: string): void {
  token = value.trim();
  try {
    localStorage.setItem(storageKey, token);
  } catch {
    // kept for this page only
  }
  const q = question;
  question = undefined;
  for (const l of listeners) l();
  q?.resolve(token);
}

export function onTokenQuestion(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
