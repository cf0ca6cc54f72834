type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/**
 * Waits for a condition instead of a fixed sleep: calls `predicate` (every `intervalMs`) until
 * it returns something truthy, and resolves with that; rejects after `timeoutMs`, naming `what`.
 */
export async function waitFor<T>(predicate: () => T | Promise<T>, timeoutMs = 5000, what = 'the condition', intervalMs = 10): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value as Truthy<T>;
    if (Date.now() >= deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
