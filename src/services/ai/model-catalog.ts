/** One model a user can pick (contract `AiModel`, plus what the server needs to call it). */
export interface CatalogModel {
  id: string;
  name: string;
  type: string;
  provider: string;
  contextWindow: number | null;
  isDefault: boolean;
  /** The provider's own name for the model. */
  upstreamModel: string;
  /** Absent for built-in models that need no network. */
  baseURL?: string;
  apiKey?: string;
  /** Fen per 1,000 tokens. */
  prices: { prompt: number; completion: number };
}

export const ECHO_MODEL: CatalogModel = {
  id: 'echo',
  name: 'Echo (built-in)',
  type: 'chat',
  provider: 'builtin',
  contextWindow: null,
  isDefault: true,
  upstreamModel: 'echo',
  prices: { prompt: 0, completion: 0 },
};

/** The models users can choose from; read-only after start. */
export class ModelCatalog {
  private readonly byId: Map<string, CatalogModel>;

  constructor(readonly models: readonly CatalogModel[]) {
    this.byId = new Map(models.map((m) => [m.id, m]));
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
