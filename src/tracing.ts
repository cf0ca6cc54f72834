/**
 * Loaded first by src/index.ts (before any module it instruments: http, graphql, ioredis,
 * mysql2, undici). With OTEL_EXPORTER_OTLP_ENDPOINT unset it does nothing and loads no
 * OpenTelemetry SDK code: `tracing-sdk.ts` is required only when tracing is on.
 */
import { loadTracingConfig } from './config';

const tracing = loadTracingConfig();
if (tracing) {
  // A synchronous require on purpose: an `import()` would resolve after the app's modules
  // loaded, too late to instrument them; a static import would load the SDK when tracing is off.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require('./tracing-sdk') as typeof import('./tracing-sdk')).startTracing(tracing);
}
