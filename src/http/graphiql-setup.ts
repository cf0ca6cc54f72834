/**
 * GraphiQL's page script, served as a file (the page's CSP allows no inline script). It is
 * kept here as text so the build needs no copy step.
 */
export const GRAPHIQL_SETUP_JS = `// GraphiQL's page script (served as a static file, so the page needs no inline script).
// Queries and mutations go over HTTP; subscriptions go over graphql-ws on the same URL, with
// what the user typed in the Headers tab sent as the socket's connection_init payload (the
// server reads \`Authorization\` and \`X-API-Key\` there, whatever their case).
/* global React, ReactDOM, GraphiQL, graphqlWs */
(function () {
  'use strict';
  var httpUrl = location.origin + '/graphql';
  var wsUrl = httpUrl.replace(/^http/, 'ws');
  var overHttp = GraphiQL.createFetcher({ url: httpUrl });
  // One socket per set of headers: changing the token in the Headers tab opens a new one.
  var sockets = new Map();

  function socketFor(headers) {
    var key = JSON.stringify(headers || {});
    var client = sockets.get(key);
    if (!client) {
      client = graphqlWs.createClient({ url: wsUrl, connectionParams: headers || {}, lazy: true, retryAttempts: 0 });
      sockets.set(key, client);
    }
    return client;
  }

  // Decided from the query text: GraphiQL's parsed document can lag behind the editor.
  function isSubscription(params) {
    var text = (params.query || '').replace(/"""[\\s\\S]*?"""|"(?:[^"\\\\]|\\\\.)*"/g, '""').replace(/#[^\\n\\r]*/g, '');
    if (params.operationName) return new RegExp('\\\\bsubscription\\\\s+' + params.operationName + '\\\\b').test(text);
    return /^\\s*subscription\\b/.test(text) || /}\\s*subscription\\b/.test(text);
  }

  function fetcher(params, opts) {
    if (!isSubscription(params)) return overHttp(params, opts);
    return socketFor(opts && opts.headers).iterate(params);
  }

  var defaultQuery = [
    '# Sign in: mutation { wechatLogin(input: { code: "any-code" }) { token } } (any code works',
    '# without WeChat credentials), put {"Authorization": "Bearer <token>"} in the Headers tab,',
    '# send a message with stream: true, then run subscription { replyStream(messageId: "...") { seq delta done } }.',
    '{',
    '  models {',
    '    id',
    '    name',
    '  }',
    '}',
    '',
  ].join('\\n');

  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, { fetcher: fetcher, defaultQuery: defaultQuery, isHeadersEditorEnabled: true, defaultEditorToolsVisibility: 'headers' }),
  );
})();
`;
