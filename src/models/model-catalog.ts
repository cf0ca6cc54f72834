import type { ModelConfig } from './catalog-config';

/** One model a user can pick (the GraphQL `AiModel`, plus what the server needs to call it). */
export type CatalogModel = ModelConfig;

/** The built-in model: no upstream, no network. */
export const ECHO_MODEL: CatalogModel = {
  id: 'echo',
  name: 'Echo (built-in)',
  type: 'chat',
  provider: 'builtin',
  upstreams: [],
  contextWindow: null,
  isDefault: true,
  prices: { prompt: 0, completion: 0 },
  streamOptions: false,
  maxTokens: null,
  temperature: null,
  extraBody: {},
  headers: {},
  firstTokenTimeoutMs: null,
  timeoutMs: null,
};

/**
 * The models users can choose from. Replaced whole by `replace` (adminReloadModels), never
 * edited in place: a reply that already picked its model keeps the object it holds.
 */
export class ModelCatalog {
  private byId!: Map<string, CatalogModel>;
  private current!: readonly CatalogModel[];

  /** With no configured models the catalog holds the built-in echo model. */
  constructor(models: readonly CatalogModel[]) {
    this.replace(models);
  }

  replace(models: readonly CatalogModel[]): void {
    const next = models.length ? models : [ECHO_MODEL];
    this.byId = new Map(next.map((m) => [m.id, m]));
    this.current = next;
  }

  get models(): readonly CatalogModel[] {
    return this.current;
  }

  list(): readonly CatalogModel[] {
    return this.models;
  }

  find(id: string): CatalogModel | undefined {
    return this.byId.get(id);
  }

  get default(): CatalogModel {
    return this.models.find((m) => m.isDefault) ?? this.models[0];
  }
}
