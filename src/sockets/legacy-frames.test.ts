import { describe, expect, it } from '@jest/globals';
import { AppError } from '../core/errors';
// message.entity loaded first fails on its import cycle with chat.entity; the index loads them in a working order.
import '../db/entities';
import { Message, MessageStatus, Role } from '../db/entities/message.entity';
import { isObject, messageInput, optionalString, parseFrame, replyFrame, str, textOf } from './legacy-frames';

function badRequest(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected BAD_REQUEST');
}

const arrayBufferOf = (text: string): ArrayBuffer => {
  const bytes = new TextEncoder().encode(text);
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
};

describe('isObject and str', () => {
  it.each<[unknown, boolean]>([
    [{}, true],
    [{ a: 1 }, true],
    [[], false],
    [null, false],
    [undefined, false],
    ['{}', false],
    [1, false],
  ])('isObject(%p) is %p', (value, expected) => {
    expect(isObject(value)).toBe(expected);
  });

  it.each<[unknown, string | undefined]>([
    ['token', 'token'],
    ['', ''],
    [1, undefined],
    [null, undefined],
    [['a'], undefined],
  ])('str(%p) is %p', (value, expected) => {
    expect(str(value)).toBe(expected);
  });
});

describe('textOf', () => {
  it('reads a Buffer, an ArrayBuffer and fragments as UTF-8', () => {
    expect(textOf(Buffer.from('héllo 你好'))).toBe('héllo 你好');
    expect(textOf(arrayBufferOf('héllo 你好'))).toBe('héllo 你好');
  });

  it('joins fragments before decoding, so a character split between them survives', () => {
    const bytes = Buffer.from('{"content":"你好"}');
    // '你' takes bytes 12-14: cut inside it.
    expect(textOf([bytes.subarray(0, 13), bytes.subarray(13)])).toBe('{"content":"你好"}');
  });
});

describe('parseFrame', () => {
  it('parses a JSON object from any kind of raw data', () => {
    const json = '{"type":"message","data":{"content":"你好"},"timestamp":"2026-01-15T08:00:00.000Z"}';
    const frame = { type: 'message', data: { content: '你好' }, timestamp: '2026-01-15T08:00:00.000Z' };
    const bytes = Buffer.from(json);
    expect(parseFrame(bytes)).toEqual(frame);
    expect(parseFrame(arrayBufferOf(json))).toEqual(frame);
    expect(parseFrame([bytes.subarray(0, 5), bytes.subarray(5, 30), bytes.subarray(30)])).toEqual(frame);
  });

  it('keeps the top-level token of an auth frame', () => {
    expect(parseFrame(Buffer.from('{"type":"auth","token":"Bearer abc"}'))).toEqual({ type: 'auth', token: 'Bearer abc' });
  });

  it.each([
    ['invalid JSON', '{"type":'],
    ['text', 'ping'],
    ['nothing', ''],
    ['an array', '[{"type":"ping"}]'],
    ['null', 'null'],
    ['a string', '"ping"'],
    ['a number', '42'],
    ['a byte-order mark', '\uFEFF{"type":"ping"}'],
  ])('is undefined for %s', (_name, text) => {
    expect(parseFrame(Buffer.from(text))).toBeUndefined();
  });
});

describe('optionalString', () => {
  it('is undefined when absent or null, the string otherwise', () => {
    expect(optionalString({}, 'chatId')).toBeUndefined();
    expect(optionalString({ chatId: null }, 'chatId')).toBeUndefined();
    expect(optionalString({ chatId: '' }, 'chatId')).toBe('');
    expect(optionalString({ chatId: 'c1' }, 'chatId')).toBe('c1');
  });

  it.each([[1], [false], [{}], [['c1']]])('refuses %p as BAD_REQUEST INVALID', (value) => {
    expect(badRequest(() => optionalString({ chatId: value }, 'chatId'))).toMatchObject({
      code: 'BAD_REQUEST',
      message: 'chatId must be a string',
      details: { field: 'chatId', reason: 'INVALID' },
    });
  });
});

describe('messageInput', () => {
  it('maps chatId to the session and always streams', () => {
    expect(messageInput({ content: '你好', chatId: 'c1', modelId: 'gpt-4o-mini', clientMessageId: 'k1', role: 'user', stream: false, messageHistory: [] })).toStrictEqual({
      content: '你好',
      sessionId: 'c1',
      modelId: 'gpt-4o-mini',
      clientMessageId: 'k1',
      stream: true,
    });
  });

  it('leaves the optional fields undefined when absent or null', () => {
    expect(messageInput({ content: 'hi', chatId: null })).toStrictEqual({ content: 'hi', sessionId: undefined, modelId: undefined, clientMessageId: undefined, stream: true });
  });

  it('leaves an empty content to the service', () => {
    expect(messageInput({ content: '' }).content).toBe('');
  });

  it.each(['user', 'USER', 'User'])('accepts role %p', (role) => {
    expect(messageInput({ content: 'hi', role }).content).toBe('hi');
  });

  it.each(['assistant', 'system', 'ASSISTANT', '', 'users'])('refuses role %p as UNSUPPORTED', (role) => {
    expect(badRequest(() => messageInput({ content: 'hi', role }))).toMatchObject({ message: 'role must be "user"', details: { field: 'role', reason: 'UNSUPPORTED' } });
  });

  it.each<[string, unknown]>([
    ['role', 1],
    ['chatId', 42],
    ['modelId', true],
    ['clientMessageId', { id: 'k1' }],
  ])('refuses a non-string %s as INVALID', (field, value) => {
    expect(badRequest(() => messageInput({ content: 'hi', [field]: value }))).toMatchObject({ message: `${field} must be a string`, details: { field, reason: 'INVALID' } });
  });

  it.each<[string, unknown]>([
    ['no data', undefined],
    ['null data', null],
    ['an array', [{ content: 'hi' }]],
    ['a bare string', 'hi'],
  ])('refuses %s as data REQUIRED', (_name, data) => {
    expect(badRequest(() => messageInput(data))).toMatchObject({
      code: 'BAD_REQUEST',
      message: 'A message frame carries data: {content, chatId?}',
      details: { field: 'data', reason: 'REQUIRED' },
    });
  });

  it.each<[string, unknown]>([
    ['a missing content', { chatId: 'c1' }],
    ['a number', { content: 42 }],
    ['null', { content: null }],
  ])('refuses %s as content REQUIRED', (_name, data) => {
    expect(badRequest(() => messageInput(data))).toMatchObject({ message: 'content must be a string', details: { field: 'content', reason: 'REQUIRED' } });
  });
});

describe('replyFrame', () => {
  const message = (fields: Partial<Pick<Message, 'content' | 'status' | 'promptTokens' | 'completionTokens' | 'totalTokens'>>) => Object.assign(new Message(), { role: Role.ASSISTANT }, fields);

  it('carries only ids, seq, delta and done for a delta', () => {
    expect(replyFrame({ messageId: 'm1', sessionId: 'c1', seq: 3, delta: '你', reasoningDelta: '', done: false })).toStrictEqual({ chatId: 'c1', messageId: 'm1', seq: 3, delta: '你', done: false });
  });

  it('adds content, aiGenerated, status and snake_case usage to the done frame', () => {
    const done = message({ content: '你好！', status: MessageStatus.COMPLETE, promptTokens: 12, completionTokens: 3, totalTokens: 15 });
    expect(replyFrame({ messageId: 'm1', sessionId: 'c1', seq: 4, delta: '', reasoningDelta: '', done: true, message: done })).toStrictEqual({
      chatId: 'c1',
      messageId: 'm1',
      seq: 4,
      delta: '',
      done: true,
      content: '你好！',
      aiGenerated: true,
      status: 'COMPLETE',
      usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 },
    });
  });

  it('counts zeros when nothing was counted', () => {
    const stopped = message({ content: '你', status: MessageStatus.STOPPED, promptTokens: null, completionTokens: null, totalTokens: null });
    expect(replyFrame({ messageId: 'm1', sessionId: 'c1', seq: 0, delta: '', reasoningDelta: '', done: true, message: stopped }).usage).toStrictEqual({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
  });

  it('adds the error of a failed reply', () => {
    const failed = message({ content: '', status: MessageStatus.FAILED });
    const frame = replyFrame({ messageId: 'm1', sessionId: 'c1', seq: 1, delta: '', reasoningDelta: '', done: true, message: failed, error: { code: 'UPSTREAM_ERROR', message: 'The AI provider failed' } });
    expect(frame).toMatchObject({ done: true, status: 'FAILED', content: '', error: { code: 'UPSTREAM_ERROR', message: 'The AI provider failed' } });
  });

  it('leaves content out of a done frame without a message, and of a message not yet done', () => {
    expect(replyFrame({ messageId: 'm1', sessionId: 'c1', seq: 2, delta: '', reasoningDelta: '', done: true })).toStrictEqual({ chatId: 'c1', messageId: 'm1', seq: 2, delta: '', done: true });
    const partial = message({ content: '你', status: MessageStatus.STREAMING });
    expect(replyFrame({ messageId: 'm1', sessionId: 'c1', seq: 1, delta: '你', reasoningDelta: '', done: false, message: partial })).not.toHaveProperty('content');
    expect(replyFrame({ messageId: 'm1', sessionId: 'c1', seq: 2, delta: '', reasoningDelta: '想', done: false })).toStrictEqual({ chatId: 'c1', messageId: 'm1', seq: 2, delta: '', reasoningDelta: '想', done: false });
  });
});
