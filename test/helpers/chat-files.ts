import { inflateRawSync } from 'node:zlib';
import { print } from 'graphql';
import { ImportChatsDocument, type ImportChatsMutation } from '../generated/graphql';
import type { GqlError, RestResult, TestApp } from './test-app';

const IMPORT_CHATS = print(ImportChatsDocument);

export type ImportResult = ImportChatsMutation['importChats'];

/** importChats as a GraphQL multipart request (graphql-multipart-request-spec) with one file. */
export async function gqlImport(t: TestApp, file: Buffer | string, opts: { token?: string; format?: string } = {}) {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query: IMPORT_CHATS, variables: { file: null, ...(opts.format ? { format: opts.format } : {}) } }));
  form.append('map', JSON.stringify({ 0: ['variables.file'] }));
  form.append('0', new Blob([typeof file === 'string' ? file : new Uint8Array(file)], { type: 'application/json' }), 'chats.json');
  const res = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: { 'apollo-require-preflight': 'true', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
    body: form,
  });
  return { status: res.status, body: (await res.json()) as { data?: { importChats: ImportResult } | null; errors?: GqlError[] } };
}

/** POST /v1/chats/import with `format` first, then the file in `file`. */
export async function restImport(t: TestApp, file: Buffer | string, opts: { token?: string; format?: string } = {}) {
  const form = new FormData();
  if (opts.format) form.append('format', opts.format);
  form.append('file', new Blob([typeof file === 'string' ? file : new Uint8Array(file)], { type: 'application/json' }), 'conversations.json');
  const res = await fetch(`${t.url}/v1/chats/import`, { method: 'POST', headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {}, body: form });
  return { status: res.status, body: (await res.json()) as RestResult<ImportResult>['body'] };
}

/** GET /v1/chats/export: the status, headers and raw bytes. */
export async function download(t: TestApp, format: string | undefined, token?: string) {
  const res = await fetch(`${t.url}/v1/chats/export${format ? `?format=${format}` : ''}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

/**
 * The files of a zip, read the way unzip does: the end-of-central-directory record, then each
 * central-directory entry and its local header, then the data (stored or deflated). Also
 * checks each file's CRC-32, so a zip that only looks right fails.
 */
export function unzip(zip: Buffer): Map<string, string> {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('no end of central directory');
  const entries = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const files = new Map<string, string>();
  for (let i = 0; i < entries; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`bad central directory entry ${i}`);
    const flags = zip.readUInt16LE(at + 8);
    const method = zip.readUInt16LE(at + 10);
    const crc = zip.readUInt32LE(at + 16);
    const compressed = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    // Bit 11: the name is UTF-8 (Chinese titles must survive).
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString(flags & 0x800 ? 'utf8' : 'latin1');
    if (zip.readUInt32LE(local) !== 0x04034b50) throw new Error(`bad local header for ${name}`);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(start, start + compressed);
    const data = method === 8 ? inflateRawSync(raw) : raw;
    if (crc32(data) !== crc) throw new Error(`CRC mismatch in ${name}`);
    files.set(name, data.toString('utf8'));
    at += 46 + nameLength + extraLength + commentLength;
  }
  return files;
}

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
