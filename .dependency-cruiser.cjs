/**
 * Which parts of src/ may import which: `npm run lint:deps` (and CI) fail on a break.
 * docs/architecture.md explains the rules.
 */
const FEATURES = '^src/(accounts|chats|replies|models|speech|payments|limits|moderation|openai|admin|usage|metrics)/';
/** The GraphQL and REST edge of a feature: resolvers, GraphQL types, REST routes. */
const EDGE = '[.](resolver|types|routes)[.]ts$';

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'Import cycles make load order fragile and modules impossible to read alone. ORM entity relations are the one exception.',
      from: { pathNot: '^src/db/entities/' },
      to: { circular: true, viaOnly: { pathNot: '^src/db/entities/' } },
    },
    {
      name: 'features-are-framework-free',
      severity: 'error',
      comment: 'Services, stores and clients take plain inputs; only a feature\'s resolvers, GraphQL types and REST routes know the transports.',
      from: { path: FEATURES, pathNot: EDGE },
      to: { path: '^node_modules/(fastify|@fastify|graphql|type-graphql|@apollo|@as-integrations|ws|graphql-ws|graphql-sse|@graphql-yoga)(/|$)' },
    },
    {
      name: 'features-do-not-import-the-composition',
      severity: 'error',
      comment: 'Features know nothing of the request context, the app\'s wiring or the transports.',
      from: { path: FEATURES, pathNot: EDGE },
      to: { path: '^src/(context|services|deps|app|events|index)[.]ts$|^src/(http|graphql|rest|sockets|jobs)/' },
    },
    {
      name: 'opentelemetry-through-the-port',
      severity: 'error',
      comment: 'Spans are made through src/core/trace.ts (which decides what may go into them); only it and the SDK setup (src/tracing*.ts) import OpenTelemetry.',
      from: { path: '^src/', pathNot: '^src/core/trace[.]ts$|^src/tracing(-sdk)?[.]ts$' },
      to: { path: '^node_modules/@opentelemetry/' },
    },
    {
      name: 'core-stands-alone',
      severity: 'error',
      comment: 'The shared kernel (errors, ids, cursors, viewer) imports nothing of the app.',
      from: { path: '^src/core/' },
      to: { path: '^src/', pathNot: '^src/core/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '[.]test[.]ts$|^src/rest/generated/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    combinedDependencies: false,
    moduleSystems: ['cjs', 'es6'],
  },
};
