import { deflateRawSync } from 'node:zlib';
import { BillFormatError, parseWechatTradeBill, unzip } from './bill-parsers';

describe('bill parsers', () => {
  it('reads a WeChat Pay ALL bill by its column names, stopping at the summary', () => {
    const text = [
      '交易时间,商户订单号,交易状态,应结订单金额,退款金额',
      '`2026-01-01 10:00:00,`o1,`SUCCESS,`12.34,`0.00',
      '`2026-01-01 11:00:00,`o2,`REFUND,`5.00,`2.50',
      '总交易单数,应结订单总金额,退款总金额',
      '`2,`17.34,`2.50',
    ].join('\r\n');
    expect(parseWechatTradeBill(text)).toEqual([
      { outTradeNo: 'o1', kind: 'PAYMENT', amount: 1234 },
      { outTradeNo: 'o2', kind: 'REFUND', amount: 250 },
    ]);
  });

  it('refuses a bill without the columns it needs, or with amounts that are not yuan', () => {
    expect(() => parseWechatTradeBill('交易时间,商户订单号\n`x,`y')).toThrow(BillFormatError);
    expect(() => parseWechatTradeBill('商户订单号,交易状态,应结订单金额,退款金额\n`o,`SUCCESS,`1.234,`0')).toThrow(BillFormatError);
  });

  it('unzips stored and deflated entries, and refuses what is not a zip', () => {
    const entry = (name: string, data: Buffer, method: 0 | 8, offset: number) => {
      const body = method === 8 ? deflateRawSync(data) : data;
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(method, 8);
      local.writeUInt32LE(body.length, 18);
      local.writeUInt32LE(data.length, 22);
      local.writeUInt16LE(Buffer.byteLength(name), 26);
      const central = Buffer.alloc(46);
      central.writeUInt32LE(0x02014b50, 0);
      central.writeUInt16LE(0x800, 8);
      central.writeUInt16LE(method, 10);
      central.writeUInt32LE(body.length, 20);
      central.writeUInt32LE(data.length, 24);
      central.writeUInt16LE(Buffer.byteLength(name), 28);
      central.writeUInt32LE(offset, 42);
      return { local: Buffer.concat([local, Buffer.from(name), body]), central: Buffer.concat([central, Buffer.from(name)]) };
    };
    const a = entry('a.csv', Buffer.from('stored'), 0, 0);
    const b = entry('明细.csv', Buffer.from('deflated '.repeat(20)), 8, a.local.length);
    const centralStart = a.local.length + b.local.length;
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(0x06054b50, 0);
    eocd.writeUInt16LE(2, 8);
    eocd.writeUInt16LE(2, 10);
    eocd.writeUInt32LE(a.central.length + b.central.length, 12);
    eocd.writeUInt32LE(centralStart, 16);
    const zip = Buffer.concat([a.local, b.local, a.central, b.central, eocd]);
    expect(unzip(zip).map((f) => [f.name, f.data.toString()])).toEqual([
      ['a.csv', 'stored'],
      ['明细.csv', 'deflated '.repeat(20)],
    ]);
    expect(() => unzip(Buffer.from('not a zip at all'))).toThrow(BillFormatError);
  });
});
