import { sign, type KeyObject } from 'node:crypto';

/*
 * Just enough DER to make a self-signed X.509 v3 certificate (RSA, sha256WithRSAEncryption)
 * for the fakes: Node can read certificates (X509Certificate) but not make them, and the
 * fakes should not depend on an openssl binary being installed.
 */

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag: number, body: Buffer) => Buffer.concat([Buffer.from([tag]), length(body.length), body]);
const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));
const NULL = Buffer.from([0x05, 0x00]);

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const bytes = [40 * a + b];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) chunk.unshift(0x80 | (v & 0x7f));
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** A positive INTEGER from hex (a leading 0x00 when the top bit is set). */
function integerHex(hex: string): Buffer {
  let body = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
  if (body[0] & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  return tlv(0x02, body);
}

/** UTCTime YYMMDDHHMMSSZ. */
const utcTime = (d: Date) => tlv(0x17, Buffer.from(`${d.toISOString().slice(2, 19).replace(/[-T:]/g, '')}Z`, 'ascii'));
const name = (commonName: string) => seq(set(seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(commonName, 'utf8')))));

/** A PEM certificate for `keys`, valid from a day ago for a year, with this serial (hex). */
export function selfSignedCertificate(opts: { serialHex: string; commonName: string; keys: { publicKey: KeyObject; privateKey: KeyObject } }): string {
  const algorithm = seq(oid('1.2.840.113549.1.1.11'), NULL);
  const now = Date.now();
  const tbs = seq(
    tlv(0xa0, integerHex('02')), // v3
    integerHex(opts.serialHex),
    algorithm,
    name(opts.commonName),
    seq(utcTime(new Date(now - 86_400_000)), utcTime(new Date(now + 365 * 86_400_000))),
    name(opts.commonName),
    opts.keys.publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = sign('sha256', tbs, opts.keys.privateKey);
  const der = seq(tbs, algorithm, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
}
