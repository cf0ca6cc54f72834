/**
 * The one error vocabulary of the API. Services throw these; `describeError` turns any of
 * them into one transport-neutral description, and each transport (GraphQL, REST, the
 * legacy socket) only maps that description onto its own wire shape. Nothing else invents
 * codes or reasons. Kept free of framework imports so every layer can depend on it.
 */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  INTERNAL_SERVER_ERROR: 500,
  UPSTREAM_ERROR: 502,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

const APOLLO_CODES = [
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'BAD_REQUEST',
] as const;

/** Apollo's own request-level codes, kept as-is so Apollo tooling recognises them. All are 400. */
export type ApolloRequestCode = (typeof APOLLO_CODES)[number];
export const APOLLO_REQUEST_CODES: ReadonlySet<string> = new Set(APOLLO_CODES);

/*
 * `details.reason`: a stable, machine-readable refinement of the code, for clients that act
 * differently on, say, TOO_LONG and UNKNOWN_MODEL. Each reason comes with exactly one code,
 * and each description is what docs/errors.md shows (`npm run generate` rewrites its table).
 * Provider reasons (WECHATPAY_*, ALIPAY_*, WECHAT_*) pass the provider's own code through
 * only when it is listed here; other provider codes get the group's *_REFUSED reason.
 */
const BAD_REQUEST_REASONS = {
  REQUIRED: 'A required field is missing (details.field names it); send it.',
  INVALID: 'A field has the wrong type or format; the message says what is expected.',
  EMPTY: 'A text field is empty or only whitespace; send some text.',
  INVALID_TEXT: 'A text is not valid Unicode: it holds a NUL character or a lone UTF-16 surrogate (half of an emoji, for example); send well-formed text.',
  TOO_LONG: 'A text is over its length limit (the message gives the limit); shorten it.',
  TOO_MANY: 'A list has more items than one call accepts (the message gives the limit); send fewer.',
  LENGTH: 'A text is outside its allowed length (the message gives the range).',
  OUT_OF_RANGE: 'A page size is outside its allowed range (the message gives the range).',
  MALFORMED_CURSOR: 'The cursor was not issued by this API or was altered; pass a cursor from a previous page unchanged.',
  CURSOR_EXPIRED: 'The cursor has expired; start again from the first page.',
  UNKNOWN_MODEL: 'No model has this id; pick one from the models query or GET /v1/models.',
  CONTEXT_TOO_LONG: "The message does not fit the model's context window; shorten it or pick a model with a larger window.",
  UNSUPPORTED: 'The value is not supported here (for example a legacy-socket message whose role is not user).',
  NOT_MULTIPART: 'This route takes multipart/form-data with the file in the field named by details.field.',
  MISSING_FILE: 'The multipart body has no file in the field named by details.field.',
  MALFORMED_MULTIPART: 'The multipart body could not be parsed; send it again as well-formed multipart/form-data.',
  UPLOAD_FAILED: 'The uploaded file could not be read (an interrupted or malformed upload); send it again.',
  EMPTY_FILE: 'The uploaded audio file is empty.',
  UNSUPPORTED_AUDIO_FORMAT: 'The audio is not mp3, wav, m4a/mp4, aac (ADTS), webm or ogg (judged by its bytes, not its name), or could not be read as one; convert it first.',
  SERVICE_NOT_CONFIGURED: 'This server has no speech-to-text (or, for speakMessage, text-to-speech) provider configured; the feature is unavailable here until the operator sets one up.',
  MESSAGE_NOT_FINISHED: 'The reply is still being generated; read it aloud once it has finished.',
  INVALID_LANGUAGE: 'language must be a code like zh or en-US.',
  INVALID_CODE: 'The WeChat login code is invalid or has expired (get a new one from wx.login), or a redeem code is unknown, already used or expired (redeemCode says no more than that, so codes cannot be probed).',
  CODE_USED: 'The WeChat login code has already been used; get a new one from wx.login.',
  TOO_MANY_API_KEYS: 'The account already has the most live API keys allowed; revoke one first.',
  PAYMENT_METHOD_NOT_CONFIGURED: 'This server is not set up for that payment method; choose another one.',
  INVALID_AMOUNT: 'amount is in yuan, from 0.01 to 50000, with at most two decimals.',
  INVALID_ORDER_ID: 'orderId is 1 to 64 characters from A-Z, a-z, 0-9, _ and -.',
  ORDER_ID_CONFLICT: 'This orderId was already used with a different amount, payment method or scene; use a new orderId.',
  SCENE_NOT_SUPPORTED: 'This payment method cannot pay in that scene here (Alipay has no MINI_PROGRAM; WeChat MOBILE_WEB needs H5 payments enabled on the server); choose another scene or method.',
  OPENID_REQUIRED: "MINI_PROGRAM payments need the user's openid from this server's mini-program (log in with wx.login in that mini-program); development logins have none.",
  SESSION_KEY_REQUIRED: 'Virtual payment signs with your WeChat login session, which this server does not have (or it is from another app); log in again with wx.login in the mini-program.',
  UNKNOWN_PRODUCT: 'productId is not one of virtualProducts; list them again.',
  ORDER_NOT_PAID: 'Only a paid order can be refunded.',
  REFUND_EXCEEDS_PAID: 'The refund is more than what is left to refund of this order (its amount less refundedAmount and refunds in progress); nothing was refunded.',
  BALANCE_ALREADY_SPENT: "The user has already spent part of this top-up, so their balance cannot pay back the refund; nothing was refunded. Send force: true to refund anyway (the balance goes to zero, never below, and the shortfall is recorded).",
  INVALID_REASON: 'reason is 1 to 80 characters.',
  MALFORMED_BODY: 'The request body is not valid JSON, is empty, or does not match its Content-Length; fix the body.',
  UNSUPPORTED_MEDIA_TYPE: 'The Content-Type is not accepted; send application/json (multipart/form-data for uploads).',
  INVALID_REQUEST: 'The request could not be read (for example a malformed URL or GraphQL multipart request); the message says why.',
  MALFORMED_FRAME: 'A legacy-socket frame is not a JSON object.',
  UNKNOWN_TYPE: 'A legacy-socket frame has a type other than auth, message or ping.',
  ALREADY_AUTHENTICATED: 'This legacy socket is signed in as another user; open a new socket for that user.',
  TOO_MANY_OPERATIONS: 'This graphql-ws socket already runs as many operations as it may; complete some or open another socket.',
  CONFIRMATION_REQUIRED: 'An irreversible operation (deleteAllChats, deleteAccount) was not sent its confirmation phrase word for word (the message quotes it); nothing was changed.',
  NOT_RATEABLE: 'Only finished AI replies can be rated (not your own messages, nor a reply still being generated).',
  NOT_A_REPLY: 'regenerateReply takes an AI reply to a user message, or that user message; not a system message.',
  NOT_A_USER_MESSAGE: 'editMessage takes one of your own messages, not an AI reply or a system message.',
  REPLY_IN_PROGRESS: 'The reply is still being generated: stop it (stopGeneration) or wait for it before regenerating it.',
  HISTORY_OFF: 'saveHistory is off, so no messages are kept to regenerate or edit; turn it on, or send the message again.',
  INVALID_RANGE: 'A usage report needs from before to, at most 366 days apart (details.field names the bad end).',
  INVALID_MODEL_CATALOG: 'adminReloadModels: the AI_MODELS file has problems (the message lists them all); the catalog in use was kept. Fix the file and reload again.',
  MALFORMED_IMPORT: "The import file is not UTF-8 JSON of the chosen format (this server's export for NATIVE, ChatGPT's conversations.json for CHATGPT); nothing was imported.",
} as const;

const FORBIDDEN_REASONS = {
  INSUFFICIENT_BALANCE: 'The balance does not cover the chosen model (top up or pick a free model), or an admin deduction is larger than the balance (which never goes below zero).',
  WECHAT_RISKY_USER: 'WeChat has blocked this account from logging in; the user has to resolve it with WeChat.',
  LOGIN_TOKEN_REQUIRED: 'An API key cannot create, list or revoke API keys, log out, or use the admin operations; send a login token (Authorization: Bearer) instead.',
  ADMIN_REQUIRED: 'Only operators (users granted the ADMIN role with `npm run admin -- grant`) may use the admin operations.',
  CONTENT_BLOCKED: 'The text breaks the content rules. Input (details.field names it) is refused and nothing is stored or sent on; a reply ends BLOCKED with its text withheld (error.code on its done event).',
  ACCOUNT_SUSPENDED: 'The account is suspended (after repeated content violations, or by an operator); sending and saving work again at suspendedUntil (an ISO time).',
} as const;

const PAYLOAD_TOO_LARGE_REASONS = {
  BODY_TOO_LARGE: "The request body is over the server's size limit; send less.",
  FILE_TOO_LARGE: 'The uploaded file is over the upload limit; send a smaller file.',
} as const;

const UPSTREAM_ERROR_REASONS = {
  SHARED_STATE_UNAVAILABLE: 'The shared state store cannot be reached; try again shortly.',
  MODERATION_UNAVAILABLE: 'The content check could not be made (a checker is down or over its limit) and the server refuses unchecked text; try again shortly.',
  DATABASE_UNAVAILABLE: 'The database did not answer in time (a statement, a lock or a free connection took too long); try again shortly.',
  REPLY_FAILED: 'The AI reply failed (the message says why); send the message again.',
  REPLY_INTERRUPTED: 'The reply was cut off when the server generating it stopped (a crash or restart); what was generated is kept. Send the message again.',
  PROVIDER_UNAVAILABLE: 'The AI or speech provider could not be reached or failed on its side (network error or 5xx); try again later.',
  PROVIDER_TIMEOUT: 'The AI or speech provider took too long; what it sent before is kept. Try again.',
  PROVIDER_RATE_LIMITED: "The AI or speech provider is limiting this server's requests; try again later.",
  PROVIDER_QUOTA_EXHAUSTED: "The server's account with the AI or speech provider is out of balance or quota; the operator has to top it up.",
  PROVIDER_REJECTED: 'The AI or speech provider refused the request (the message quotes it), usually because of a model setting on the server; retrying will not help.',
  PROVIDER_STREAM_INTERRUPTED: 'The AI provider stopped in the middle of a reply (a dropped connection or an error it sent); what arrived is kept. Send the message again.',
  ABORTED: 'The request to the AI provider was cancelled before it answered.',
  WECHAT_UNAVAILABLE: 'WeChat login did not answer in time; try again.',
  WECHAT_BAD_ANSWER: 'WeChat login answered with something unreadable; try again.',
  'WECHAT_-1': 'WeChat login is busy; try again in a moment.',
  WECHAT_REFUSED: 'WeChat login failed with another error code (in the message), usually a server setting; report it to the operator.',
  WECHATPAY_UNAVAILABLE: 'WeChat Pay could not be reached or did not answer in time; try again.',
  WECHATPAY_BAD_SIGNATURE: 'A WeChat Pay answer failed signature verification and was not trusted; try again, and report it if it persists.',
  WECHATPAY_BAD_ANSWER: 'WeChat Pay answered with something unreadable or for another merchant; try again.',
  WECHAT_XPAY_REFUSED: 'WeChat virtual payment refused the call (an errcode); the server retries later.',
  WECHATPAY_HTTP_ERROR: 'WeChat Pay answered with an HTTP error and no error code (the status is in the message); try again.',
  WECHATPAY_REFUSED: 'WeChat Pay refused with an error code not listed here (in the message); report it to the operator.',
  WECHATPAY_SYSTEM_ERROR: 'WeChat Pay had an error on its side; try again.',
  WECHATPAY_FREQUENCY_LIMITED: "WeChat Pay is limiting this merchant's requests; try again later.",
  WECHATPAY_SIGN_ERROR: "WeChat Pay refused this server's request signature; the server's merchant key is misconfigured.",
  WECHATPAY_PARAM_ERROR: 'WeChat Pay refused a parameter of the request; report it to the operator.',
  WECHATPAY_INVALID_REQUEST: 'WeChat Pay refused the request as invalid (the message says why); report it to the operator.',
  WECHATPAY_APPID_MCHID_NOT_MATCH: "The server's WeChat app id and merchant id do not belong together; the server is misconfigured.",
  WECHATPAY_MCH_NOT_EXISTS: "WeChat Pay does not know the server's merchant id; the server is misconfigured.",
  WECHATPAY_NO_AUTH: 'The merchant is not allowed to use this WeChat Pay product; the server is misconfigured.',
  WECHATPAY_OUT_TRADE_NO_USED: "WeChat Pay already has a different order with this order's trade number; create a new order.",
  WECHATPAY_ORDER_NOT_EXIST: 'WeChat Pay has no such order.',
  WECHATPAY_ORDERPAID: 'The WeChat Pay order is already paid, so it cannot be changed or closed.',
  WECHATPAY_ORDER_CLOSED: 'The WeChat Pay order is closed; create a new order.',
  WECHATPAY_NOT_ENOUGH: "The merchant's WeChat Pay account has too little available to refund now; the refund is kept pending and retried.",
  WECHATPAY_USER_ACCOUNT_ABNORMAL: "The payer's WeChat account cannot receive the refund; the operator has to refund through the merchant platform.",
  'ALIPAY_ACQ.TRADE_HAS_FINISHED': 'The Alipay trade is finished and can no longer be refunded.',
  'ALIPAY_ACQ.REFUND_AMT_NOT_EQUAL_TOTAL': 'Alipay refused the refund amount (a repeated refund number with a different amount).',
  ALIPAY_UNAVAILABLE: 'Alipay could not be reached or did not answer in time; try again.',
  ALIPAY_HTTP_ERROR: 'Alipay answered with an HTTP error (the status is in the message); try again.',
  ALIPAY_BAD_ANSWER: 'An Alipay answer was unsigned, badly signed, unreadable or about another trade, and was not trusted; try again.',
  ALIPAY_REFUSED: 'Alipay refused with an error code not listed here (in the message); report it to the operator.',
  'ALIPAY_isv.invalid-signature': "Alipay refused this server's request signature; the server's Alipay keys are misconfigured.",
  'ALIPAY_isv.invalid-app-id': "Alipay does not know the server's app id; the server is misconfigured.",
  'ALIPAY_ACQ.SYSTEM_ERROR': 'Alipay had an error on its side; try again.',
  'ALIPAY_ACQ.INVALID_PARAMETER': 'Alipay refused a parameter of the request; report it to the operator.',
  'ALIPAY_ACQ.TRADE_STATUS_ERROR': 'The Alipay trade is in a state that does not allow this (for example already paid or closed).',
} as const;

/** Every reason, grouped by the one code it comes with. */
export const REASONS_BY_CODE = {
  BAD_REQUEST: BAD_REQUEST_REASONS,
  FORBIDDEN: FORBIDDEN_REASONS,
  PAYLOAD_TOO_LARGE: PAYLOAD_TOO_LARGE_REASONS,
  UPSTREAM_ERROR: UPSTREAM_ERROR_REASONS,
} as const satisfies Partial<Record<ErrorCode, Record<string, string>>>;

/** Every `details.reason` the API sends, with its description for clients. */
export const ERROR_REASONS = { ...BAD_REQUEST_REASONS, ...FORBIDDEN_REASONS, ...PAYLOAD_TOO_LARGE_REASONS, ...UPSTREAM_ERROR_REASONS } as const;

export type ErrorReason = keyof typeof ERROR_REASONS;
/** The reasons that may come with `code`: an error class only accepts its own. */
export type ReasonOf<C extends keyof typeof REASONS_BY_CODE> = keyof (typeof REASONS_BY_CODE)[C];

export function isErrorReason(value: string): value is ErrorReason {
  return Object.hasOwn(ERROR_REASONS, value);
}

export function isUpstreamReason(value: string): value is ReasonOf<'UPSTREAM_ERROR'> {
  return Object.hasOwn(UPSTREAM_ERROR_REASONS, value);
}

/** A provider's own error code as the reason when it is listed (e.g. WECHATPAY_ORDER_NOT_EXIST), else `fallback`. */
export function providerReason(prefix: string, code: string | number, fallback: ReasonOf<'UPSTREAM_ERROR'>): ReasonOf<'UPSTREAM_ERROR'> {
  const reason = `${prefix}${code}`;
  return isUpstreamReason(reason) ? reason : fallback;
}

export interface ErrorDetails<R extends ErrorReason = ErrorReason> {
  /** The input field at fault, as a dotted path (e.g. `messages.3.content`). */
  field?: string;
  reason?: R;
  /** ACCOUNT_SUSPENDED: when the suspension ends (ISO time); in details so that every transport carries it. */
  suspendedUntil?: string;
}

export class AppError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetails,
  ) {
    super(message);
    this.name = 'AppError';
    this.status = ERROR_STATUS[code];
  }
}

export class BadRequestError extends AppError {
  constructor(message: string, details?: ErrorDetails<ReasonOf<'BAD_REQUEST'>>) {
    super('BAD_REQUEST', message, details);
  }
}

export class UnauthenticatedError extends AppError {
  constructor(message = 'Authentication required') {
    super('UNAUTHENTICATED', message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'Not allowed', details?: ErrorDetails<ReasonOf<'FORBIDDEN'>>) {
    super('FORBIDDEN', message, details);
  }
}

/** FORBIDDEN / ACCOUNT_SUSPENDED: the user broke the content rules too often, or an operator suspended them; it lifts by itself at `until`. */
export class AccountSuspendedError extends ForbiddenError {
  constructor(readonly until: Date) {
    super(`This account is suspended until ${until.toISOString()}`, { reason: 'ACCOUNT_SUSPENDED', suspendedUntil: until.toISOString() });
  }
}

export class NotFoundError extends AppError {
  constructor(what = 'Resource') {
    super('NOT_FOUND', `${what} not found`);
  }
}

export class RateLimitedError extends AppError {
  /** Whole seconds, at least 1: clients wait this long before trying again. */
  readonly retryAfterSeconds: number;

  constructor(retryAfterSeconds: number, message = 'Too many requests') {
    super('RATE_LIMITED', message);
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(message = 'Payload too large', details?: ErrorDetails<ReasonOf<'PAYLOAD_TOO_LARGE'>>) {
    super('PAYLOAD_TOO_LARGE', message, details);
  }
}

export class UpstreamError extends AppError {
  constructor(message = 'An upstream provider failed', details?: ErrorDetails<ReasonOf<'UPSTREAM_ERROR'>>) {
    super('UPSTREAM_ERROR', message, details);
  }
}

export function statusOf(code: string): number {
  if (code in ERROR_STATUS) return ERROR_STATUS[code as ErrorCode];
  return APOLLO_REQUEST_CODES.has(code) ? 400 : 500;
}

/** What every transport says about one error; each only changes the shape. */
export interface ErrorDescription {
  code: ErrorCode | ApolloRequestCode;
  status: number;
  /** Safe to show: an unexpected error's own message never gets here. */
  message: string;
  details?: ErrorDetails;
  retryAfterSeconds?: number;
  /** Not something the client caused: the original is worth logging with its stack. */
  internal: boolean;
}

const INTERNAL: ErrorDescription = { code: 'INTERNAL_SERVER_ERROR', status: 500, message: 'Internal server error', internal: true };

/** An AppError as it is; anything else as a generic INTERNAL_SERVER_ERROR, so nothing unexpected leaks. */
export function describeError(err: unknown): ErrorDescription {
  if (!(err instanceof AppError)) return { ...INTERNAL };
  return {
    code: err.code,
    status: err.status,
    message: err.message,
    ...(err.details ? { details: err.details } : {}),
    ...(err instanceof RateLimitedError ? { retryAfterSeconds: err.retryAfterSeconds } : {}),
    internal: false,
  };
}
