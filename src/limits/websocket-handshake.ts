/** The paths that take WebSocket connections: graphql-ws and the legacy socket. */
export const WEBSOCKET_PATHS: ReadonlySet<string> = new Set(['/graphql', '/v1/ws']);

/** A Sec-WebSocket-Key: 16 random bytes in base64 (RFC 6455 §4.1), as `ws` checks it. */
const WEBSOCKET_KEY = /^[+/0-9A-Za-z]{22}==$/;

export interface HandshakeCandidate {
  method: string;
  /** The route's path pattern (not the raw URL, which a client can pad with a query string). */
  path: string | undefined;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * A WebSocket handshake on a WebSocket path. Only these skip the per-request HTTP limit,
 * since every operation or frame on the socket is counted instead; any other request that
 * merely carries an `Upgrade:` header (a POST, a GET to a REST route, a handshake `ws`
 * would refuse) is counted like every request.
 */
export function isWebSocketHandshake(req: HandshakeCandidate): boolean {
  const { headers } = req;
  const key = headers['sec-websocket-key'];
  return (
    req.method === 'GET' &&
    // With `Upgrade:`, this is what makes Node hand the request to the WebSocket server at all.
    /(?:^|,)\s*upgrade\s*(?:,|$)/i.test(String(headers.connection)) &&
    WEBSOCKET_PATHS.has(req.path ?? '') &&
    String(headers.upgrade).toLowerCase() === 'websocket' &&
    typeof key === 'string' &&
    WEBSOCKET_KEY.test(key) &&
    (headers['sec-websocket-version'] === '13' || headers['sec-websocket-version'] === '8')
  );
}
