import { readFileSync } from 'node:fs';
import { z } from 'zod';

/*
 * The AI_MODELS file: which models users can pick, which providers serve each, and how each
 * is called. Read once at start; every problem in it is reported at once, and unknown keys are
 * problems too, so a typo like "defualt" stops the start instead of passing silently.
 */

const httpUrl = z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' });
const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must name an environment variable');
const upstreamModel = z.string().min(1).max(128);
const timeout = z.number().int().min(100).max(3_600_000);

const upstreamSchema = z.strictObject({
  baseURL: httpUrl,
  apiKeyEnv: envName.optional(),
  model: upstreamModel.optional(),
  weight: z.number().int().min(0).max(1000).optional(),
});

const entrySchema = z.strictObject({
  id: z.string().regex(/^[\w.:/-]{1,64}$/, 'must be 1-64 of letters, digits, _ . : / -'),
  name: z.string().min(1).max(100),
  type: z.string().min(1).max(32).default('chat'),
  provider: z.string().min(1).max(64),
  baseURL: httpUrl.optional(),
  apiKeyEnv: envName.optional(),
  model: upstreamModel.optional(),
  contextWindow: z.number().int().positive().optional(),
  prices: z.strictObject({ prompt: z.number().int().min(0).default(0), completion: z.number().int().min(0).default(0) }).default({ prompt: 0, completion: 0 }),
  default: z.boolean().optional(),
  streamOptions: z.boolean().default(true),
  maxTokens: z.number().int().positive().max(1_000_000).optional(),
  temperature: z.number().min(0).max(2).optional(),
  extraBody: z.record(z.string(), z.unknown()).optional(),
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be a header name'), z.string().max(4096)).optional(),
  firstTokenTimeoutMs: timeout.optional(),
  timeoutMs: timeout.optional(),
  upstreams: z.array(upstreamSchema).min(1).max(16).optional(),
});

/** One provider endpoint serving a model. Its key is resolved here and never logged. */
export interface Upstream {
  baseURL: string;
  apiKey?: string;
  /** The model name this provider knows the model by. */
  model: string;
  /** Share of first tries when weights are given; null = tried in the listed order. */
  weight: number | null;
}

/** One model of the catalog, as the server calls it. */
export interface ModelConfig {
  id: string;
  name: string;
  type: string;
  provider: string;
  /** Tried in order (or by weight) before the first token; empty for the built-in echo model. */
  upstreams: Upstream[];
  contextWindow: number | null;
  /** Fen per 1,000 tokens; 0 = free. */
  prices: { prompt: number; completion: number };
  isDefault: boolean;
  /** Send `stream_options.include_usage` (some endpoints refuse the field). */
  streamOptions: boolean;
  maxTokens: number | null;
  temperature: number | null;
  /** Merged into the request body (e.g. Qwen's `enable_thinking`). */
  extraBody: Record<string, unknown>;
  headers: Record<string, string>;
  /** Override the server's reply timings for this model (reasoning models think for a minute). */
  firstTokenTimeoutMs: number | null;
  timeoutMs: number | null;
}

export interface CatalogSettings {
  /** Path of the AI_MODELS JSON file. */
  file?: string;
  openaiApiKey?: string;
  openaiBaseUrl: string;
  defaultModel?: string;
}

const DEFAULT_OPTIONS = { streamOptions: true, maxTokens: null, temperature: null, extraBody: {}, headers: {}, firstTokenTimeoutMs: null, timeoutMs: null };

/**
 * The model catalog: the AI_MODELS file, else one model on OPENAI_* when a key is set, else
 * none (the built-in echo model is added by the catalog). Problems go to `problems`.
 */
export function buildCatalog(s: CatalogSettings, env: Record<string, string | undefined>, problems: string[]): ModelConfig[] {
  if (!s.file) {
    if (!s.openaiApiKey) return [];
    const id = s.defaultModel ?? 'gpt-4o-mini';
    const upstreams = [{ baseURL: s.openaiBaseUrl, apiKey: s.openaiApiKey, model: id, weight: null }];
    return [{ id, name: id, type: 'chat', provider: 'openai', upstreams, contextWindow: null, prices: { prompt: 0, completion: 0 }, isDefault: true, ...DEFAULT_OPTIONS }];
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(s.file, 'utf8'));
  } catch (err) {
    problems.push(`AI_MODELS: cannot read ${s.file} as JSON (${err instanceof Error ? err.message.split('\n')[0] : 'unreadable'})`);
    return [];
  }
  const parsed = z.array(entrySchema).min(1, 'must list at least one model').safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`AI_MODELS: [${issue.path.join('.')}] ${issue.message}`);
    return [];
  }
  const entries = parsed.data;
  const ids = new Set<string>();
  const needKey = (id: string, name: string | undefined) => {
    if (name && !env[name]) problems.push(`AI_MODELS: model "${id}" needs the variable ${name}, which is not set`);
  };
  for (const e of entries) {
    if (ids.has(e.id)) problems.push(`AI_MODELS: model id "${e.id}" appears twice`);
    ids.add(e.id);
    needKey(e.id, e.apiKeyEnv);
    for (const u of e.upstreams ?? []) needKey(e.id, u.apiKeyEnv);
    if (e.upstreams && (e.baseURL || e.apiKeyEnv)) problems.push(`AI_MODELS: model "${e.id}" has upstreams, so baseURL and apiKeyEnv belong inside them`);
    if (e.upstreams && e.upstreams.some((u) => u.weight !== undefined) && !e.upstreams.every((u) => u.weight !== undefined)) {
      problems.push(`AI_MODELS: model "${e.id}": give every upstream a weight, or none`);
    }
  }
  if (entries.filter((e) => e.default).length > 1) problems.push('AI_MODELS: at most one model may be "default": true');
  const wanted = s.defaultModel ?? entries.find((e) => e.default)?.id ?? entries[0].id;
  if (!ids.has(wanted)) problems.push(`DEFAULT_MODEL: "${wanted}" is not in the catalog`);
  return entries.map((e) => {
    const upstreams = (e.upstreams ?? [{ baseURL: e.baseURL ?? s.openaiBaseUrl, apiKeyEnv: e.apiKeyEnv, model: undefined, weight: undefined }]).map((u) => ({
      baseURL: u.baseURL,
      apiKey: u.apiKeyEnv ? env[u.apiKeyEnv] : e.upstreams ? undefined : s.openaiApiKey,
      model: u.model ?? e.model ?? e.id,
      weight: u.weight ?? null,
    }));
    return {
      id: e.id,
      name: e.name,
      type: e.type,
      provider: e.provider,
      upstreams,
      contextWindow: e.contextWindow ?? null,
      prices: e.prices,
      isDefault: e.id === wanted,
      streamOptions: e.streamOptions,
      maxTokens: e.maxTokens ?? null,
      temperature: e.temperature ?? null,
      extraBody: e.extraBody ?? {},
      headers: e.headers ?? {},
      firstTokenTimeoutMs: e.firstTokenTimeoutMs ?? null,
      timeoutMs: e.timeoutMs ?? null,
    };
  });
}
