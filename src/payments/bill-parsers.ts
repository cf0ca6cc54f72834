import { inflateRawSync } from 'node:zlib';
import { yuanStringToFen } from './money';

/** One line of a provider's trade bill, in our terms: a payment, or a refund of one. Amounts in fen. */
export interface BillRow {
  outTradeNo: string;
  kind: 'PAYMENT' | 'REFUND';
  /** PAYMENT: what was paid; REFUND: what was refunded. */
  amount: number;
}

/**
 * WeChat Pay's trade bill (`bill_type=ALL`): a header line, one line per payment or refund
 * with every field prefixed by a backtick (so spreadsheets keep long numbers), then the
 * summary's header and line. Columns are found by their header names, not their places,
 * because WeChat appends columns over time.
 */
export function parseWechatTradeBill(text: string): BillRow[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l.trim());
  if (!lines.length) return [];
  const header = splitCsv(lines[0]).map((h) => h.trim());
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new BillFormatError(`WeChat Pay bill without the column ${name}`);
    return i;
  };
  const [outTradeNo, state, total, refund] = [col('商户订单号'), col('交易状态'), col('应结订单金额'), col('退款金额')];
  const rows: BillRow[] = [];
  for (const line of lines.slice(1)) {
    // The summary starts where lines stop beginning with a backticked time.
    if (!line.startsWith('`')) break;
    const f = splitCsv(line).map((v) => v.replace(/^`/, '').trim());
    const isRefund = f[state] === 'REFUND';
    rows.push({ outTradeNo: f[outTradeNo], kind: isRefund ? 'REFUND' : 'PAYMENT', amount: fen(isRefund ? f[refund] : f[total]) });
  }
  return rows;
}

/**
 * Alipay's trade bill: a zip of GBK CSVs; the details file (`..._业务明细.csv`, not the
 * `(汇总)` summary) has `#` comment lines around a header and one line per trade (业务类型
 * 交易) or refund (退款), values padded with tabs. Refund lines carry a negative 商家实收.
 */
export function parseAlipayTradeBill(zip: Buffer): BillRow[] {
  const files = unzip(zip);
  const details = files.find((f) => f.name.includes('业务明细') && !f.name.includes('汇总'));
  if (!details) throw new BillFormatError('Alipay bill zip without the 业务明细 file');
  const text = new TextDecoder('gbk').decode(details.data);
  const lines = text.split(/\r?\n/).filter((l) => l.trim() && !l.startsWith('#'));
  if (!lines.length) return [];
  const header = splitCsv(lines[0]).map((h) => h.trim());
  const col = (name: string) => {
    const i = header.findIndex((h) => h.startsWith(name));
    if (i < 0) throw new BillFormatError(`Alipay bill without the column ${name}`);
    return i;
  };
  const [outTradeNo, type, total, received] = [col('商户订单号'), col('业务类型'), col('订单金额'), col('商家实收')];
  return lines.slice(1).map((line) => {
    const f = splitCsv(line).map((v) => v.trim());
    const isRefund = f[type] === '退款';
    return { outTradeNo: f[outTradeNo], kind: isRefund ? 'REFUND' : 'PAYMENT', amount: isRefund ? Math.abs(fen(f[received])) : fen(f[total]) };
  });
}

export class BillFormatError extends Error {
  override name = 'BillFormatError';
}

function fen(yuan: string | undefined): number {
  const text = (yuan ?? '').trim();
  const negative = text.startsWith('-');
  const value = yuanStringToFen(negative ? text.slice(1) : text);
  if (value === null) throw new BillFormatError(`not an amount in yuan: ${text.slice(0, 20)}`);
  return negative ? -value : value;
}

/** Bills quote no fields in practice, but a product name may be quoted with commas in it. */
function splitCsv(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted && c === '"' && line[i + 1] === '"') {
      cur += '"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (c === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  out.push(cur);
  return out;
}

/**
 * The few zip features Alipay's bills use (stored or deflated entries), read through the
 * central directory so sizes are right even when local headers defer them. No zip reader is
 * among our dependencies, and this is all we need of one.
 */
export function unzip(zip: Buffer): Array<{ name: string; data: Buffer }> {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0 || eocd + 22 > zip.length) throw new BillFormatError('not a zip file');
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const files: Array<{ name: string; data: Buffer }> = [];
  for (let n = 0; n < count; n++) {
    if (p + 46 > zip.length || zip.readUInt32LE(p) !== 0x02014b50) throw new BillFormatError('broken zip central directory');
    const flags = zip.readUInt16LE(p + 8);
    const method = zip.readUInt16LE(p + 10);
    const size = zip.readUInt32LE(p + 20);
    const nameLength = zip.readUInt16LE(p + 28);
    const extra = zip.readUInt16LE(p + 30) + zip.readUInt16LE(p + 32);
    const local = zip.readUInt32LE(p + 42);
    const rawName = zip.subarray(p + 46, p + 46 + nameLength);
    // Bit 11: the name is UTF-8; otherwise it is in the maker's code page (GBK for Alipay).
    const name = flags & 0x800 ? rawName.toString('utf8') : new TextDecoder('gbk').decode(rawName);
    p += 46 + nameLength + extra;
    if (local + 30 > zip.length) throw new BillFormatError('broken zip entry');
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const body = zip.subarray(start, start + size);
    if (method === 0) files.push({ name, data: body });
    else if (method === 8) files.push({ name, data: inflateRawSync(body) });
    else throw new BillFormatError(`zip compression method ${method} is not supported`);
  }
  return files;
}
