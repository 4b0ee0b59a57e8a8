/**
 * The one registry of error codes for the whole project. Codes are stable: clients, miners and logs match
 * on them, so a code is never renamed or reused; add new ones instead.
 *
 * `retryable` means the same request may succeed if tried again elsewhere or later: the router moves on to
 * the next node, a client may back off and repeat. Everything else is final for this request.
 */

/** OpenAI-style `error.type`, what an OpenAI client branches on. */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'insufficient_quota'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'timeout_error'
  | 'server_error'
  | 'protocol_error';

export interface ErrorCodeInfo {
  readonly status: number;
  readonly type: ErrorType;
  readonly message: string;
  readonly retryable: boolean;
}

export const ERROR_CODES = {
  // Requests from clients (gateway).
  invalid_request: {
    status: 400,
    type: 'invalid_request_error',
    message: 'Invalid request body',
    retryable: false,
  },
  unsupported_parameter: {
    status: 400,
    type: 'invalid_request_error',
    message: 'Unsupported parameter value',
    retryable: false,
  },
  unsupported_media_type: {
    status: 415,
    type: 'invalid_request_error',
    message: 'Unsupported Content-Type: send the body as application/json',
    retryable: false,
  },
  payload_too_large: {
    status: 413,
    type: 'invalid_request_error',
    message: 'Request body too large',
    retryable: false,
  },
  headers_too_large: {
    status: 431,
    type: 'invalid_request_error',
    message: 'Request headers too large',
    retryable: false,
  },
  request_timeout: {
    status: 408,
    type: 'timeout_error',
    message: 'The request was not received in time',
    retryable: true,
  },
  missing_api_key: {
    status: 401,
    type: 'authentication_error',
    message: 'No API key provided',
    retryable: false,
  },
  invalid_api_key: {
    status: 401,
    type: 'authentication_error',
    message: 'Invalid API key',
    retryable: false,
  },
  missing_operator_token: {
    status: 401,
    type: 'authentication_error',
    message: 'No operator token provided',
    retryable: false,
  },
  invalid_operator_token: {
    status: 401,
    type: 'authentication_error',
    message: 'Invalid operator token',
    retryable: false,
  },
  invalid_voucher: {
    status: 401,
    type: 'authentication_error',
    message: 'Invalid payment voucher',
    retryable: false,
  },
  voucher_expired: {
    status: 401,
    type: 'authentication_error',
    message: 'Payment voucher expired',
    retryable: false,
  },
  voucher_replayed: {
    status: 409,
    type: 'invalid_request_error',
    message: 'Payment voucher nonce already used',
    retryable: false,
  },
  forbidden: { status: 403, type: 'permission_error', message: 'Not allowed', retryable: false },
  insufficient_credits: {
    status: 402,
    type: 'insufficient_quota',
    message: 'Insufficient compute credits',
    retryable: false,
  },
  price_above_limit: {
    status: 402,
    type: 'insufficient_quota',
    message: 'Price exceeds the allowed maximum',
    retryable: false,
  },
  rate_limited: { status: 429, type: 'rate_limit_error', message: 'Rate limit reached', retryable: true },
  route_not_found: { status: 404, type: 'not_found_error', message: 'Route not found', retryable: false },
  model_not_found: { status: 404, type: 'not_found_error', message: 'Model not found', retryable: false },
  pod_not_found: { status: 404, type: 'not_found_error', message: 'Pod not found', retryable: false },
  job_not_found: { status: 404, type: 'not_found_error', message: 'Job not found', retryable: false },
  response_not_found: {
    status: 404,
    type: 'not_found_error',
    message: 'Response not found',
    retryable: false,
  },
  conversation_not_found: {
    status: 404,
    type: 'not_found_error',
    message: 'Conversation not found',
    retryable: false,
  },
  conversation_item_not_found: {
    status: 404,
    type: 'not_found_error',
    message: 'Conversation item not found',
    retryable: false,
  },
  response_not_cancellable: {
    status: 409,
    type: 'invalid_request_error',
    message: 'Response cannot be cancelled',
    retryable: false,
  },
  receipt_not_found: {
    status: 404,
    type: 'not_found_error',
    message: 'No receipt for this job',
    retryable: false,
  },
  job_not_cancellable: {
    status: 409,
    type: 'invalid_request_error',
    message: 'Job cannot be cancelled',
    retryable: false,
  },
  idempotency_key_reused: {
    status: 409,
    type: 'invalid_request_error',
    message: 'Idempotency-Key was used with another request',
    retryable: false,
  },
  request_in_progress: {
    status: 409,
    type: 'invalid_request_error',
    message: 'A request with this Idempotency-Key is in progress',
    retryable: true,
  },
  api_key_not_found: {
    status: 404,
    type: 'not_found_error',
    message: 'No active API key with this id',
    retryable: false,
  },
  job_cancelled: { status: 499, type: 'invalid_request_error', message: 'Job cancelled', retryable: false },

  // Scheduling and execution (router, miner).
  no_node_available: {
    status: 503,
    type: 'server_error',
    message: 'No node can serve this pod yet',
    retryable: true,
  },
  no_capacity: { status: 503, type: 'server_error', message: 'All capable nodes are busy', retryable: true },
  deadline_exceeded: { status: 504, type: 'timeout_error', message: 'Deadline exceeded', retryable: false },
  retries_exhausted: { status: 502, type: 'server_error', message: 'All attempts failed', retryable: false },
  node_failed: { status: 502, type: 'server_error', message: 'Node failed to run the job', retryable: true },
  node_timeout: {
    status: 504,
    type: 'timeout_error',
    message: 'Node did not answer in time',
    retryable: true,
  },
  node_disconnected: { status: 502, type: 'server_error', message: 'Node disconnected', retryable: true },
  node_draining: { status: 503, type: 'server_error', message: 'Node is draining', retryable: true },
  pod_load_failed: { status: 503, type: 'server_error', message: 'Pod failed to load', retryable: true },
  bad_result: {
    status: 502,
    type: 'server_error',
    message: 'Node returned an invalid result',
    retryable: true,
  },

  // Wire protocol between miner and router.
  protocol_error: { status: 400, type: 'protocol_error', message: 'Protocol error', retryable: false },
  schema_violation: {
    status: 400,
    type: 'protocol_error',
    message: 'Message does not match its schema',
    retryable: false,
  },
  unknown_message_type: {
    status: 400,
    type: 'protocol_error',
    message: 'Unknown message type',
    retryable: false,
  },
  frame_too_large: { status: 413, type: 'protocol_error', message: 'Frame too large', retryable: false },
  unsupported_version: {
    status: 426,
    type: 'protocol_error',
    message: 'Unsupported protocol version',
    retryable: false,
  },

  // Handshake refusals: why the router will not admit a node.
  node_not_registered: {
    status: 403,
    type: 'permission_error',
    message: 'Node is not registered',
    retryable: false,
  },
  node_not_staked: {
    status: 403,
    type: 'permission_error',
    message: 'Node stake is below the minimum',
    retryable: false,
  },
  node_jailed: { status: 403, type: 'permission_error', message: 'Node is jailed', retryable: false },
  bad_signature: { status: 401, type: 'authentication_error', message: 'Bad signature', retryable: false },
  challenge_expired: {
    status: 401,
    type: 'authentication_error',
    message: 'Challenge expired',
    retryable: true,
  },

  // Infrastructure.
  chain_error: { status: 502, type: 'server_error', message: 'Chain request failed', retryable: true },
  service_unavailable: { status: 503, type: 'server_error', message: 'Service unavailable', retryable: true },
  not_implemented: { status: 501, type: 'server_error', message: 'Not implemented', retryable: false },
  internal_error: { status: 500, type: 'server_error', message: 'Internal error', retryable: false },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

type CodesWhere<R extends boolean> = {
  [C in ErrorCode]: (typeof ERROR_CODES)[C]['retryable'] extends R ? C : never;
}[ErrorCode];

export type RetryableCode = CodesWhere<true>;
export type FatalCode = CodesWhere<false>;

/** The codes a router may answer a handshake with in a `refused` message. */
export const HANDSHAKE_REFUSAL_CODES = [
  'node_not_registered',
  'node_not_staked',
  'node_jailed',
  'bad_signature',
  'challenge_expired',
  'unsupported_version',
  'protocol_error',
  'service_unavailable',
] as const satisfies readonly ErrorCode[];

export type HandshakeRefusalCode = (typeof HANDSHAKE_REFUSAL_CODES)[number];

export const ALL_ERROR_CODES = Object.keys(ERROR_CODES) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

export function errorCodeInfo(code: ErrorCode): ErrorCodeInfo {
  return ERROR_CODES[code];
}
