/** A topic's arguments: `[id, payload]` for topics scoped by an id, `[payload]` for global ones. */
export type TopicArgs = [id: string, payload: unknown] | [payload: unknown];
type PayloadOf<A extends TopicArgs> = A extends [string, infer P] ? P : A[0];

/**
 * Topics that features publish to and subscribe on, in process or (with REDIS_URL) across
 * instances. The composition root makes them (`createTopics` in src/events.ts); features
 * only see this shape, not the library behind it.
 */
export interface PubSub<Topics extends { [K in keyof Topics]: TopicArgs }> {
  publish<K extends keyof Topics & string>(topic: K, ...args: Topics[K]): void;
  /** `id` for topics scoped by one; omitted for global topics. */
  subscribe<K extends keyof Topics & string>(topic: K, id?: string): AsyncIterable<PayloadOf<Topics[K]>> & { return?(): unknown };
}
