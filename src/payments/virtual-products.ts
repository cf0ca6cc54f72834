import { yuanNumberToFen } from './money';

/** One item the mini-program sells through virtual payment; price and credits in fen. */
export interface VirtualProduct {
  id: string;
  name: string;
  price: number;
  credits: number;
}

/** WeChat's productId: the id configured for the goods in the mini-program's virtual payment console. */
const PRODUCT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * WECHAT_XPAY_PRODUCTS' file: a JSON array of {"id","name","price","credits"}, price in yuan
 * (at most two decimals), credits in fen. Strict, since a typo here sells the wrong thing:
 * unknown keys, duplicates and bad values are problems, reported all at once.
 */
export function parseVirtualProducts(text: string): { products: VirtualProduct[]; problems: string[] } {
  const problems: string[] = [];
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { products: [], problems: [`not JSON (${(err as Error).message})`] };
  }
  if (!Array.isArray(raw) || raw.length === 0) return { products: [], problems: ['must be a non-empty JSON array'] };
  const products: VirtualProduct[] = [];
  const seen = new Set<string>();
  raw.forEach((item: unknown, i) => {
    const at = `[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return void problems.push(`${at}: must be an object`);
    const o = item as Record<string, unknown>;
    const extra = Object.keys(o).filter((k) => !['id', 'name', 'price', 'credits'].includes(k));
    if (extra.length) problems.push(`${at}: unknown keys ${extra.join(', ')}`);
    const { id, name, price, credits } = o;
    if (typeof id !== 'string' || !PRODUCT_ID.test(id)) return void problems.push(`${at}.id: 1-64 of A-Z a-z 0-9 _ -`);
    if (seen.has(id)) return void problems.push(`${at}.id: ${id} is listed twice`);
    seen.add(id);
    if (typeof name !== 'string' || !name.trim() || name.length > 64) return void problems.push(`${at}.name: a text of 1-64 characters`);
    const fen = typeof price === 'number' ? yuanNumberToFen(price) : null;
    if (fen === null || fen < 1 || fen > 5_000_000) return void problems.push(`${at}.price: yuan, 0.01 to 50000, at most two decimals`);
    if (typeof credits !== 'number' || !Number.isSafeInteger(credits) || credits < 1) return void problems.push(`${at}.credits: a positive whole number of fen`);
    products.push({ id, name, price: fen, credits });
  });
  return { products: problems.length ? [] : products, problems };
}
