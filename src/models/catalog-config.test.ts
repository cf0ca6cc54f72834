import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCatalog, type CatalogSettings } from './catalog-config';

const OPENAI = 'https://api.openai.com/v1';

function catalog(entries: unknown, env: Record<string, string> = {}, extra: Partial<CatalogSettings> = {}) {
  const file = join(mkdtempSync(join(tmpdir(), 'catalog-')), 'models.json');
  writeFileSync(file, JSON.stringify(entries));
  const problems: string[] = [];
  const models = buildCatalog({ file, openaiBaseUrl: OPENAI, ...extra }, env, problems);
  return { models, problems };
}

describe('buildCatalog', () => {
  it('is one model on OPENAI_* with a key and no file, and none without a key', () => {
    const problems: string[] = [];
    expect(buildCatalog({ openaiBaseUrl: OPENAI }, {}, problems)).toEqual([]);
    const [model] = buildCatalog({ openaiBaseUrl: OPENAI, openaiApiKey: 'sk-1', defaultModel: 'gpt-4.1' }, {}, problems);
    expect(model).toMatchObject({ id: 'gpt-4.1', isDefault: true, upstreams: [{ baseURL: OPENAI, apiKey: 'sk-1', model: 'gpt-4.1', weight: null }], streamOptions: true });
    expect(problems).toEqual([]);
  });

  it('reads the options with their defaults', () => {
    const { models, problems } = catalog(
      [
        { id: 'plain', name: 'Plain', provider: 'x' },
        {
          id: 'qwen',
          name: 'Qwen',
          provider: 'dashscope',
          baseURL: 'https://dashscope.example/v1',
          apiKeyEnv: 'QWEN_KEY',
          model: 'qwen-plus',
          streamOptions: false,
          maxTokens: 2048,
          temperature: 0.7,
          extraBody: { enable_thinking: true },
          headers: { 'X-DashScope-SSE': 'enable' },
          firstTokenTimeoutMs: 60_000,
          timeoutMs: 300_000,
        },
      ],
      { QWEN_KEY: 'sk-qwen' },
    );
    expect(problems).toEqual([]);
    expect(models[0]).toMatchObject({ streamOptions: true, maxTokens: null, temperature: null, extraBody: {}, headers: {}, firstTokenTimeoutMs: null, timeoutMs: null, isDefault: true });
    expect(models[0].upstreams).toEqual([{ baseURL: OPENAI, apiKey: undefined, model: 'plain', weight: null }]);
    expect(models[1]).toMatchObject({
      upstreams: [{ baseURL: 'https://dashscope.example/v1', apiKey: 'sk-qwen', model: 'qwen-plus', weight: null }],
      streamOptions: false,
      maxTokens: 2048,
      temperature: 0.7,
      extraBody: { enable_thinking: true },
      headers: { 'X-DashScope-SSE': 'enable' },
      firstTokenTimeoutMs: 60_000,
      timeoutMs: 300_000,
    });
  });

  it('resolves each upstream with its own key and model name', () => {
    const { models, problems } = catalog(
      [
        {
          id: 'r1',
          name: 'R1',
          provider: 'deepseek',
          model: 'deepseek-reasoner',
          upstreams: [
            { baseURL: 'https://api.deepseek.com/v1', apiKeyEnv: 'DS_KEY', weight: 3 },
            { baseURL: 'https://api.siliconflow.cn/v1', apiKeyEnv: 'SF_KEY', model: 'deepseek-ai/DeepSeek-R1', weight: 1 },
          ],
        },
      ],
      { DS_KEY: 'sk-ds', SF_KEY: 'sk-sf' },
    );
    expect(problems).toEqual([]);
    expect(models[0].upstreams).toEqual([
      { baseURL: 'https://api.deepseek.com/v1', apiKey: 'sk-ds', model: 'deepseek-reasoner', weight: 3 },
      { baseURL: 'https://api.siliconflow.cn/v1', apiKey: 'sk-sf', model: 'deepseek-ai/DeepSeek-R1', weight: 1 },
    ]);
  });

  it.each([
    ['a typo in a key', [{ id: 'a', name: 'A', provider: 'x', defualt: true }], 'Unrecognized key: "defualt"'],
    ['an unknown upstream key', [{ id: 'a', name: 'A', provider: 'x', upstreams: [{ baseURL: 'https://a.example/v1', apikey: 'K' }] }], 'Unrecognized key: "apikey"'],
    ['streamOptions that is not a boolean', [{ id: 'a', name: 'A', provider: 'x', streamOptions: 'no' }], '[0.streamOptions]'],
    ['a temperature out of range', [{ id: 'a', name: 'A', provider: 'x', temperature: 3 }], '[0.temperature]'],
    ['a timeout too short', [{ id: 'a', name: 'A', provider: 'x', firstTokenTimeoutMs: 5 }], '[0.firstTokenTimeoutMs]'],
    ['an empty upstream list', [{ id: 'a', name: 'A', provider: 'x', upstreams: [] }], '[0.upstreams]'],
    ['a baseURL beside upstreams', [{ id: 'a', name: 'A', provider: 'x', baseURL: 'https://a.example/v1', upstreams: [{ baseURL: 'https://b.example/v1' }] }], 'baseURL and apiKeyEnv belong inside them'],
    ['weights on only some upstreams', [{ id: 'a', name: 'A', provider: 'x', upstreams: [{ baseURL: 'https://a.example/v1', weight: 1 }, { baseURL: 'https://b.example/v1' }] }], 'give every upstream a weight, or none'],
    ['an upstream key variable that is not set', [{ id: 'a', name: 'A', provider: 'x', upstreams: [{ baseURL: 'https://a.example/v1', apiKeyEnv: 'MISSING_KEY' }] }], 'needs the variable MISSING_KEY'],
  ])('stops the start on %s', (_what, entries, problem) => {
    const { problems } = catalog(entries);
    expect(problems.join('\n')).toContain(problem);
  });
});
