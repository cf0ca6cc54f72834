// Baseline: the same query and rows on bare graphql-js `execute` behind node:http, with the
// parsed and validated document cached (as Apollo's document store does). Nothing else.
const http = require('node:http');
const { GraphQLBoolean, GraphQLID, GraphQLInt, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLString, execute, parse, validate } = require('graphql');
const { ECHO_MODEL } = require('../../dist/models/model-catalog');

const nn = (t) => new GraphQLNonNull(t);
const AiModel = new GraphQLObjectType({
  name: 'AiModel',
  fields: { id: { type: nn(GraphQLID) }, name: { type: nn(GraphQLString) }, type: { type: nn(GraphQLString) }, provider: { type: nn(GraphQLString) }, contextWindow: { type: GraphQLInt }, isDefault: { type: nn(GraphQLBoolean) } },
});
const schema = new GraphQLSchema({
  query: new GraphQLObjectType({ name: 'Query', fields: { models: { type: nn(new GraphQLList(nn(AiModel))), resolve: () => [ECHO_MODEL] } } }),
});
const documents = new Map();

http
  .createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      const { query, variables } = JSON.parse(body);
      let document = documents.get(query);
      if (!document) {
        document = parse(query);
        const errors = validate(schema, document);
        if (errors.length) throw errors[0];
        documents.set(query, document);
      }
      const result = await execute({ schema, document, variableValues: variables });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(result));
    });
  })
  .listen(0, '127.0.0.1', function () {
    console.log(JSON.stringify({ url: `http://127.0.0.1:${this.address().port}` }));
  });
process.once('SIGTERM', () => process.exit(0));
