import type { ApolloServerPlugin } from '@apollo/server';
import type { AppContext } from '../context';
import type { PromMetrics } from '../metrics/prom-metrics';
import { describeGraphqlError } from './format-error';

const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** Operation names are the client's choice: past this many distinct ones, the rest count as "other". */
const MAX_OPERATION_NAMES = 200;

/** Times every GraphQL operation (HTTP, REST, sockets) by name, and counts the errors it answered by code. */
export function metricsPlugin(metrics: PromMetrics): ApolloServerPlugin<AppContext> {
  const seen = new Set<string>();
  const label = (name: string | null | undefined): string => {
    if (!name || !OPERATION_NAME.test(name)) return '-';
    if (seen.has(name)) return name;
    if (seen.size >= MAX_OPERATION_NAMES) return 'other';
    seen.add(name);
    return name;
  };
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async didEncounterErrors({ errors }) {
          for (const err of errors) metrics.error(describeGraphqlError(err).code);
        },
        async willSendResponse({ operationName }) {
          metrics.graphqlOperation(label(operationName), Number(process.hrtime.bigint() - started) / 1e9);
        },
      };
    },
  };
}
