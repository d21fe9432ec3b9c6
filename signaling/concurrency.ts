/**
 * Runs `fn` over `items` with at most `limit` calls in flight; resolves when all settled. A call
 * that fails goes to `onError` and the others go on.
 */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>, onError: (err: unknown, item: T) => void): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (err) {
        onError(err, item);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
