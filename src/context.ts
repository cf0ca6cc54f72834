import type { EntityManager } from '@mikro-orm/core';
import type { AppDeps } from './deps';
import type { AppError } from './core/errors';
import { createLoaders, type Loaders } from './chats/message.loaders';
import { createServices, type Services } from './services';
import type { Viewer } from './core/viewer';

export type { Viewer };


/** Per-request state, the same for HTTP, graphql-ws, REST and the legacy socket. */
export interface AppContext {
  viewer: Viewer | null;
  requestId: string;
  ip: string;
  /** A fork: one identity map per operation. */
  em: EntityManager;
  services: Services;
  loaders: Loaders;
  /** A credential was presented but refused; reported when an operation needs a viewer. */
  authError?: AppError;
}

export interface ContextInput {
  viewer: Viewer | null;
  requestId: string;
  ip: string;
}

export function createContext(deps: AppDeps, input: ContextInput): AppContext {
  const em = deps.orm.em.fork();
  return { ...input, em, services: createServices(deps, em), loaders: createLoaders(em) };
}
