import type { EntityManager } from '@mikro-orm/core';
import type { AppDeps } from '../deps';
import type { ModelCatalog } from './ai/model-catalog';

/** The services one request can use; built per request around its EntityManager. */
export interface Services {
  models: ModelCatalog;
}

export function createServices(deps: AppDeps, _em: EntityManager): Services {
  return { models: deps.catalog };
}
