import { describe, expect, it } from '@jest/globals';
import type { ValidationError } from 'class-validator';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { ArgumentValidationError } from 'type-graphql';
import { BadRequestError, describeError, NotFoundError, RateLimitedError, UpstreamError } from '../core/errors';
import { describeFormattedError, describeGraphqlError, formatError } from './format-error';

/** How graphql-js hands a resolver's error to formatError. */
const fromResolver = (err: Error) => new GraphQLError(err.message, { path: ['sendMessage'], originalError: err });

const violation = (property: string, constraints?: Record<string, string>, children: ValidationError[] = []) =>
  ({ property, constraints, children }) as ValidationError;

describe('describeGraphqlError', () => {
  const ours = new BadRequestError('content must not be empty', { field: 'content', reason: 'EMPTY' });

  it('describes an error thrown in a resolver as describeError does', () => {
    expect(describeGraphqlError(fromResolver(ours))).toEqual(describeError(ours));
  });

  it('sees through a GraphQLError that wraps ours outside a resolver (a refused graphql-ws operation)', () => {
    const err = new BadRequestError('Too many', { reason: 'TOO_MANY_OPERATIONS' });
    expect(describeGraphqlError(new GraphQLError(err.message, { originalError: err }))).toEqual(describeError(err));
  });

  it('describes ours given directly', () => {
    expect(describeGraphqlError(new NotFoundError('Chat'))).toEqual(describeError(new NotFoundError('Chat')));
  });

  it('keeps retryAfterSeconds of a rate limit', () => {
    expect(describeGraphqlError(fromResolver(new RateLimitedError(59.5)))).toMatchObject({ code: 'RATE_LIMITED', status: 429, retryAfterSeconds: 60 });
  });

  it('turns argument validation into BAD_REQUEST with the first failing field, its reason and the validator wording', () => {
    const err = new ArgumentValidationError([violation('input', undefined, [violation('clientMessageId', { isLength: 'clientMessageId must be longer than or equal to 1 characters' })])]);
    expect(describeGraphqlError(fromResolver(err))).toEqual({
      code: 'BAD_REQUEST',
      status: 400,
      message: 'Invalid input.clientMessageId: clientMessageId must be longer than or equal to 1 characters',
      details: { field: 'input.clientMessageId', reason: 'LENGTH' },
      internal: false,
    });
  });

  it.each([
    ['maxLength', 'TOO_LONG'],
    ['isNotEmpty', 'EMPTY'],
    ['isUrl', 'INVALID'],
    ['somethingCustom', 'INVALID'],
    ['toString', 'INVALID'],
  ])('gives the %s constraint the reason %s', (constraint, reason) => {
    const err = new ArgumentValidationError([violation('avatarUrl', { [constraint]: 'avatarUrl is wrong' })]);
    expect(describeGraphqlError(fromResolver(err)).details).toEqual({ field: 'avatarUrl', reason });
  });

  it('describes validation without a failing field as Invalid input', () => {
    expect(describeGraphqlError(fromResolver(new ArgumentValidationError([])))).toEqual({ code: 'BAD_REQUEST', status: 400, message: 'Invalid input', internal: false });
  });

  it.each(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT', 'PERSISTED_QUERY_NOT_FOUND', 'OPERATION_RESOLUTION_FAILURE', 'BAD_REQUEST'])(
    'keeps Apollo request code %s with status 400 and its message',
    (code) => {
      expect(describeGraphqlError(new GraphQLError('Syntax Error: Expected Name', { extensions: { code } }))).toEqual({ code, status: 400, message: 'Syntax Error: Expected Name', internal: false });
    },
  );

  it.each([
    ['a plain error thrown in a resolver', fromResolver(new Error('db-password=hunter2'))],
    ['a GraphQLError with a code of its own', new GraphQLError('secret', { extensions: { code: 'UNAUTHENTICATED' } })],
    ['a GraphQLError without a code', new GraphQLError('secret')],
    ['something that is not an error', 'secret'],
  ])('describes %s as internal', (_name, err) => {
    expect(describeGraphqlError(err)).toEqual({ code: 'INTERNAL_SERVER_ERROR', status: 500, message: 'Internal server error', internal: true });
  });
});

describe('formatError', () => {
  const formatted = (err: GraphQLError): GraphQLFormattedError => formatError(err.toJSON(), err);

  it('puts code, status, retryAfterSeconds and details in extensions, in that order', () => {
    const err = fromResolver(new BadRequestError('content must not be empty', { field: 'content', reason: 'EMPTY' }));
    expect(JSON.stringify(formatted(err))).toBe(
      '{"message":"content must not be empty","path":["sendMessage"],"extensions":{"code":"BAD_REQUEST","status":400,"details":{"field":"content","reason":"EMPTY"}}}',
    );
    expect(JSON.stringify(formatted(fromResolver(new RateLimitedError(3, 'Slow down'))))).toBe(
      '{"message":"Slow down","path":["sendMessage"],"extensions":{"code":"RATE_LIMITED","status":429,"retryAfterSeconds":3}}',
    );
  });

  it('hides an unexpected error behind a generic message', () => {
    expect(formatted(fromResolver(new Error('db-password=hunter2')))).toEqual({ message: 'Internal server error', path: ['sendMessage'], extensions: { code: 'INTERNAL_SERVER_ERROR', status: 500 } });
  });

  it('reads back as the same description (REST answers from formatted errors)', () => {
    for (const err of [
      new BadRequestError('content must not be empty', { field: 'content', reason: 'EMPTY' }),
      new RateLimitedError(7),
      new UpstreamError('WeChat Pay failed', { reason: 'WECHATPAY_REFUSED' }),
      new NotFoundError('Chat'),
    ]) {
      expect(describeFormattedError(formatted(fromResolver(err)))).toEqual(describeError(err));
    }
    expect(describeFormattedError(formatted(new GraphQLError('Syntax Error', { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })))).toEqual({
      code: 'GRAPHQL_PARSE_FAILED',
      status: 400,
      message: 'Syntax Error',
      internal: false,
    });
  });
});
