import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import {
  AppError,
  BadRequestError,
  describeError,
  ERROR_REASONS,
  ERROR_STATUS,
  ForbiddenError,
  isErrorReason,
  NotFoundError,
  PayloadTooLargeError,
  providerReason,
  RateLimitedError,
  REASONS_BY_CODE,
  statusOf,
  UnauthenticatedError,
  UpstreamError,
} from './errors';

describe('describeError', () => {
  it.each([
    ['BadRequestError', new BadRequestError('content must not be empty', { field: 'content', reason: 'EMPTY' }), 'BAD_REQUEST', 400],
    ['UnauthenticatedError', new UnauthenticatedError(), 'UNAUTHENTICATED', 401],
    ['ForbiddenError', new ForbiddenError('Top up first', { field: 'modelId', reason: 'INSUFFICIENT_BALANCE' }), 'FORBIDDEN', 403],
    ['NotFoundError', new NotFoundError('Chat'), 'NOT_FOUND', 404],
    ['PayloadTooLargeError', new PayloadTooLargeError('Request body is too large', { reason: 'BODY_TOO_LARGE' }), 'PAYLOAD_TOO_LARGE', 413],
    ['UpstreamError', new UpstreamError('WeChat Pay failed', { reason: 'WECHATPAY_SYSTEM_ERROR' }), 'UPSTREAM_ERROR', 502],
  ] as const)('describes a %s with its code, status, message and details', (_name, err, code, status) => {
    expect(describeError(err)).toEqual({
      code,
      status,
      message: err.message,
      ...(err.details ? { details: err.details } : {}),
      internal: false,
    });
  });

  it('keeps the default messages', () => {
    expect(describeError(new UnauthenticatedError()).message).toBe('Authentication required');
    expect(describeError(new NotFoundError('Chat')).message).toBe('Chat not found');
    expect(describeError(new ForbiddenError()).message).toBe('Not allowed');
  });

  it('gives RATE_LIMITED a whole number of seconds to wait, at least 1', () => {
    expect(describeError(new RateLimitedError(2.2, 'Slow down'))).toEqual({ code: 'RATE_LIMITED', status: 429, message: 'Slow down', retryAfterSeconds: 3, internal: false });
    expect(describeError(new RateLimitedError(0)).retryAfterSeconds).toBe(1);
  });

  it('leaves out details an error does not have', () => {
    expect(Object.keys(describeError(new NotFoundError()))).toEqual(['code', 'status', 'message', 'internal']);
  });

  it.each([
    ['an Error', new Error('connection refused to db-password=hunter2')],
    ['a string', 'boom'],
    ['undefined', undefined],
    ['an object that looks like ours', { code: 'BAD_REQUEST', message: 'spoofed', status: 400 }],
  ])('describes %s as a generic internal error, never passing its message on', (_name, err) => {
    expect(describeError(err)).toEqual({ code: 'INTERNAL_SERVER_ERROR', status: 500, message: 'Internal server error', internal: true });
  });

  it('gives every AppError the status of its code', () => {
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      expect(describeError(new AppError(code as keyof typeof ERROR_STATUS, 'x')).status).toBe(status);
    }
  });
});

describe('statusOf', () => {
  it('maps our codes to their status, Apollo request codes to 400 and anything else to 500', () => {
    expect(statusOf('RATE_LIMITED')).toBe(429);
    expect(statusOf('UPSTREAM_ERROR')).toBe(502);
    expect(statusOf('GRAPHQL_PARSE_FAILED')).toBe(400);
    expect(statusOf('BAD_USER_INPUT')).toBe(400);
    expect(statusOf('SOMETHING_ELSE')).toBe(500);
  });
});

describe('reasons', () => {
  it('gives each reason exactly one code', () => {
    const grouped = Object.values(REASONS_BY_CODE).flatMap((reasons) => Object.keys(reasons));
    expect(grouped.length).toBe(new Set(grouped).size);
    expect(new Set(grouped)).toEqual(new Set(Object.keys(ERROR_REASONS)));
  });

  it('describes each reason in one line', () => {
    for (const [reason, description] of Object.entries(ERROR_REASONS)) {
      expect([reason, description.trim().length > 0 && !description.includes('\n')]).toEqual([reason, true]);
    }
  });

  it('passes a listed provider code through and falls back for the others', () => {
    expect(providerReason('WECHATPAY_', 'ORDER_NOT_EXIST', 'WECHATPAY_REFUSED')).toBe('WECHATPAY_ORDER_NOT_EXIST');
    expect(providerReason('WECHATPAY_', 'SOMETHING_NEW', 'WECHATPAY_REFUSED')).toBe('WECHATPAY_REFUSED');
    expect(providerReason('ALIPAY_', 'isv.invalid-signature', 'ALIPAY_REFUSED')).toBe('ALIPAY_isv.invalid-signature');
    expect(providerReason('ALIPAY_', '40004', 'ALIPAY_REFUSED')).toBe('ALIPAY_REFUSED');
    // Only reasons that come with UPSTREAM_ERROR pass, whatever the prefix.
    expect(providerReason('', 'EMPTY', 'WECHATPAY_REFUSED')).toBe('WECHATPAY_REFUSED');
  });

  it('tells reasons from other strings', () => {
    expect(isErrorReason('TOO_LONG')).toBe(true);
    expect(isErrorReason('toString')).toBe(false);
    expect(isErrorReason('title must be shorter than or equal to 200 characters')).toBe(false);
  });
});

describe('docs/errors.md', () => {
  const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'errors.md'), 'utf8');
  const table = doc.slice(doc.indexOf('<!-- reasons:start -->'), doc.indexOf('<!-- reasons:end -->'));
  const rows = [...table.matchAll(/^\| `([^`]+)` \| `([^`]+)` \| (.*) \|$/gm)].map(([, reason, code, description]) => ({ reason, code, description }));

  it('lists exactly the reasons the code sends (run `npm run generate` after adding one)', () => {
    expect(rows.map((r) => r.reason).sort()).toEqual(Object.keys(ERROR_REASONS).sort());
  });

  it('shows each reason with its code and current description (run `npm run generate` after changing one)', () => {
    const expected = Object.entries(REASONS_BY_CODE).flatMap(([code, reasons]) =>
      Object.entries(reasons).map(([reason, description]) => ({ reason, code, description: description.replace(/\|/g, '\\|') })),
    );
    expect(rows).toEqual(expected);
  });
});
