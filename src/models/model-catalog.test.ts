import { describe, expect, it } from '@jest/globals';
import { type CatalogModel, ECHO_MODEL, ModelCatalog } from './model-catalog';

const model = (id: string, isDefault = false): CatalogModel => ({
  ...ECHO_MODEL,
  id,
  name: id.toUpperCase(),
  type: 'chat',
  provider: 'openai',
  upstreams: [{ baseURL: 'https://api.example.com/v1', model: `${id}-upstream`, weight: null }],
  contextWindow: 8192,
  isDefault,
  prices: { prompt: 1, completion: 2 },
});

describe('ModelCatalog', () => {
  it('holds only the built-in echo model when none is configured', () => {
    const catalog = new ModelCatalog([]);
    expect(catalog.list()).toEqual([ECHO_MODEL]);
    expect(catalog.default.id).toBe('echo');
    expect(catalog.find('echo')).toBe(ECHO_MODEL);
    expect(ECHO_MODEL).toMatchObject({ provider: 'builtin', contextWindow: null, isDefault: true, prices: { prompt: 0, completion: 0 } });
    expect(ECHO_MODEL.upstreams).toEqual([]);
  });

  it('leaves echo out once models are configured', () => {
    const catalog = new ModelCatalog([model('a'), model('b')]);
    expect(catalog.list().map((m) => m.id)).toEqual(['a', 'b']);
    expect(catalog.find('echo')).toBeUndefined();
  });

  it('defaults to the model marked default, else to the first', () => {
    expect(new ModelCatalog([model('a'), model('b', true), model('c')]).default.id).toBe('b');
    expect(new ModelCatalog([model('a'), model('b')]).default.id).toBe('a');
  });

  it('finds a model by exact id only', () => {
    const b = model('b');
    const catalog = new ModelCatalog([model('a'), b]);
    expect(catalog.find('b')).toBe(b);
    expect(catalog.find('B')).toBeUndefined();
    expect(catalog.find('')).toBeUndefined();
    expect(catalog.find('b ')).toBeUndefined();
    expect(catalog.find('constructor')).toBeUndefined();
  });
});
