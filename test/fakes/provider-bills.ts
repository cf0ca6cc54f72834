import { Buffer } from 'node:buffer';
import { ZipFile } from 'yazl';

/** One trade or refund line of a fake bill. Amounts in fen. */
export interface FakeBillRow {
  outTradeNo: string;
  kind: 'PAYMENT' | 'REFUND';
  /** The order's amount. */
  total: number;
  /** REFUND: what was refunded. */
  refund?: number;
}

const yuan = (fen: number) => `${fen < 0 ? '-' : ''}${Math.floor(Math.abs(fen) / 100)}.${String(Math.abs(fen) % 100).padStart(2, '0')}`;

/** WeChat Pay's `bill_type=ALL` trade bill as its download serves it: header, backticked lines, summary header and line. */
export function wechatTradeBillCsv(rows: FakeBillRow[], ids: { appId: string; mchId: string; billDate: string }): string {
  const header =
    '交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注';
  const lines = rows.map((r, i) => {
    const isRefund = r.kind === 'REFUND';
    const refund = isRefund ? (r.refund ?? r.total) : 0;
    const values = [
      `${ids.billDate} 10:${String(i % 60).padStart(2, '0')}:00`,
      ids.appId,
      ids.mchId,
      '0',
      '',
      `4200${String(i).padStart(24, '0')}`,
      r.outTradeNo,
      'oFakeOpenid',
      'NATIVE',
      isRefund ? 'REFUND' : 'SUCCESS',
      'OTHERS',
      'CNY',
      yuan(r.total),
      '0.00',
      isRefund ? `5030${String(i).padStart(24, '0')}` : '0',
      isRefund ? `rf${i}` : '0',
      yuan(refund),
      '0.00',
      isRefund ? 'ORIGINAL' : '',
      isRefund ? 'SUCCESS' : '',
      'AI 助手会员',
      '',
      '0.00000',
      '0.60%',
      yuan(r.total),
      yuan(refund),
      '',
    ];
    return values.map((v) => `\`${v}`).join(',');
  });
  const paid = rows.filter((r) => r.kind === 'PAYMENT').reduce((s, r) => s + r.total, 0);
  const refunded = rows.filter((r) => r.kind === 'REFUND').reduce((s, r) => s + (r.refund ?? r.total), 0);
  const summary = ['总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额', [rows.length, yuan(paid), yuan(refunded), '0.00', '0.00000', yuan(paid), yuan(refunded)].map((v) => `\`${v}`).join(',')];
  return `${[header, ...lines, ...summary].join('\r\n')}\r\n`;
}

let gbkTable: Map<string, Buffer> | undefined;

/** GBK bytes of a text. Node only decodes GBK, so the table is built by decoding every double-byte code once. */
export function encodeGbk(text: string): Buffer {
  if (!gbkTable) {
    gbkTable = new Map();
    const decoder = new TextDecoder('gbk');
    for (let lead = 0x81; lead <= 0xfe; lead++) {
      for (let trail = 0x40; trail <= 0xfe; trail++) {
        if (trail === 0x7f) continue;
        const ch = decoder.decode(Uint8Array.of(lead, trail));
        if (ch.length === 1 && ch !== '\uFFFD' && !gbkTable.has(ch)) gbkTable.set(ch, Buffer.from([lead, trail]));
      }
    }
  }
  const table = gbkTable;
  return Buffer.concat(
    Array.from(text, (ch) => {
      if (ch.charCodeAt(0) < 0x80) return Buffer.from(ch, 'latin1');
      const bytes = table.get(ch);
      if (!bytes) throw new Error(`fake bill: ${ch} has no GBK code`);
      return bytes;
    }),
  );
}

/** Alipay's trade bill as its download URL serves it: a zip of two GBK CSVs, the details (业务明细) and their summary (汇总). */
export async function alipayTradeBillZip(rows: FakeBillRow[], billDate: string, pid = '2088102177846881'): Promise<Buffer> {
  const day = billDate.replaceAll('-', '');
  const header = '支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注';
  const lines = rows.map((r, i) => {
    const isRefund = r.kind === 'REFUND';
    const received = isRefund ? -(r.refund ?? r.total) : r.total;
    const time = `${billDate} 11:${String(i % 60).padStart(2, '0')}:00`;
    return [`2026${String(i).padStart(24, '0')}`, r.outTradeNo, isRefund ? '退款' : '交易', 'AI 助手会员', time, time, '', '', '', '', 'buyer@example.com', yuan(r.total), yuan(received), '0.00', '0.00', '0.00', '0.00', '0.00', '', '0.00', '0.00', isRefund ? `rf${i}` : '', '0.00', '0.00', '']
      .map((v) => `${v}\t`)
      .join(',');
  });
  const details = [
    '#支付宝业务明细查询',
    `#账号：[${pid}0156]`,
    `#起始日期：[${billDate} 00:00:00]   终止日期：[${billDate} 23:59:59]`,
    '#-----------------------------------------业务明细列表----------------------------------------',
    header,
    ...lines,
    '#-----------------------------------------业务明细列表结束------------------------------------',
    `#交易合计：${rows.filter((r) => r.kind === 'PAYMENT').length}笔`,
    `#导出时间：[${billDate} 23:59:59]`,
  ].join('\r\n');
  const summary = ['#支付宝业务汇总查询', '门店编号,门店名称,交易订单总笔数,退款订单总笔数', `合计,,${rows.length},0`].join('\r\n');
  const zip = new ZipFile();
  zip.addBuffer(encodeGbk(details), `${pid}0156_${day}_业务明细.csv`);
  zip.addBuffer(encodeGbk(summary), `${pid}0156_${day}_业务明细(汇总).csv`);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
