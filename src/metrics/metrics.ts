/**
 * What features tell the metrics, as a port: features call these plain methods and know
 * nothing of Prometheus (`prom-metrics.ts` implements it; `NO_METRICS` when metrics are off
 * and in unit tests). Labels are bounded sets (model ids, upstream hosts, error codes),
 * never user input.
 */
export interface Metrics {
  /** A reply's first text (or reasoning) arrived this long after it started. */
  replyFirstToken(model: string, upstream: string | null, ms: number): void;
  /** A reply ended with a provider failure (`reason`: a PROVIDER_* reason). */
  providerError(model: string, upstream: string | null, reason: string): void;
  /** Content security refused or masked something (`stage`: INPUT or OUTPUT; `action`: BLOCK or MASK). */
  moderationHit(stage: string, action: string): void;
  /** A request or operation failed with this error code. */
  error(code: string): void;
}

export const NO_METRICS: Metrics = {
  replyFirstToken: () => undefined,
  providerError: () => undefined,
  moderationHit: () => undefined,
  error: () => undefined,
};
