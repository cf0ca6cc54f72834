// `{ models { id name } }` over HTTP: the full stack (fastify + Apollo + type-graphql +
// armor + context with a forked EntityManager) against bare graphql-js behind node:http.
const { startServer, load } = require('../lib');

module.exports = {
  name: 'models query over HTTP',
  async run() {
    const body = JSON.stringify({ query: '{ models { id name } }' });
    const request = (url) => ({ url: `${url}/graphql`, method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const rows = [];
    for (const [label, server] of [['baseline: graphql-js + node:http', 'graphql-baseline'], ['this server: POST /graphql', 'app']]) {
      const s = await startServer(server);
      try {
        rows.push({ label, ...(await load(request(s.url))) });
      } finally {
        await s.stop();
      }
    }
    return { rows, baseline: rows[0] };
  },
};
