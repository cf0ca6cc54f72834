/** Who is making a request, once a credential has been checked. */
export interface Viewer {
  userId: string;
  /** How they proved it: a JWT (with its id and expiry) or an API key. */
  credential: { kind: 'jwt'; jti: string; expiresAt: Date } | { kind: 'apiKey'; keyId: string };
}
