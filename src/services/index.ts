import type { EntityManager } from '@mikro-orm/core';
import type { AppDeps } from '../deps';
import type { ModelCatalog } from './ai/model-catalog';
import { ApiKeyService } from './api-key.service';
import { AuthService } from './auth/auth.service';
import { ChatService } from './chats/chat.service';
import { UserService } from './user.service';

/** The services one request can use, built on first use around its EntityManager. */
export interface Services {
  models: ModelCatalog;
  auth: AuthService;
  users: UserService;
  apiKeys: ApiKeyService;
  chats: ChatService;
}

export function createServices(deps: AppDeps, em: EntityManager): Services {
  const made: Partial<Services> = {};
  const lazy = <K extends keyof Services>(key: K, make: () => Services[K]) => () => (made[key] ??= make());
  const get = {
    auth: lazy('auth', () => new AuthService(em, deps.wechatLogin, deps.tokens, deps.authenticator.sessions)),
    users: lazy('users', () => new UserService(em)),
    apiKeys: lazy('apiKeys', () => new ApiKeyService(em, deps.authenticator.sessions)),
    chats: lazy('chats', () => new ChatService(em)),
  };
  return {
    models: deps.catalog,
    get auth() {
      return get.auth();
    },
    get users() {
      return get.users();
    },
    get apiKeys() {
      return get.apiKeys();
    },
    get chats() {
      return get.chats();
    },
  };
}
