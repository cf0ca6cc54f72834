import { setMaxListeners } from 'node:events';
import { createPubSub } from '@graphql-yoga/subscription';
import type { PubSub, TopicArgs } from './core/pubsub';

/** Where events travel: in process (undefined), or through Redis to every instance (src/redis). */
export type EventTransport = NonNullable<NonNullable<Parameters<typeof createPubSub>[0]>['eventTarget']>;

/**
 * Topics for one feature on yoga's pub/sub, in process or on every instance when given the
 * Redis transport. The one place the library is named; features see only `PubSub`.
 */
export function createTopics<Topics extends { [K in keyof Topics]: TopicArgs }>(transport?: EventTransport): PubSub<Topics> {
  return createPubSub({ eventTarget: transport ?? unboundedEventTarget() }) as unknown as PubSub<Topics>;
}

/**
 * The in-process transport. Many listeners on one topic are normal here (every device and
 * tab following one chat, every follower of one reply), not a leak, so Node's warning at
 * eleven is turned off for this target only.
 */
function unboundedEventTarget(): EventTarget {
  const target = new EventTarget();
  setMaxListeners(0, target);
  return target;
}
