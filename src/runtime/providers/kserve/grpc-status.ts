/**
 * gRPC status codes → what the rest of the gateway understands. Transport-like failures become an
 * error whose `code` upstream-call.ts classifies (UNAVAILABLE → connect_failure, DEADLINE_EXCEEDED
 * → timeout, CANCELLED and mid-stream failures → reset), so retries, fallback, breakers and outlier
 * detection treat them like their HTTP counterparts; answers the server gave (RESOURCE_EXHAUSTED,
 * INVALID_ARGUMENT, INTERNAL, …) become the HTTP status an OpenAI-format upstream would send.
 */
import type * as Grpc from '@grpc/grpc-js'

/** gRPC's numeric codes (grpc/doc/statuscodes.md), so this table needs no library loaded. */
export const Status = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, DATA_LOSS: 15, UNAUTHENTICATED: 16,
} as const

/** The error codes upstream-call.ts classifies (and describes to clients without the backend's words). */
export type GrpcFailureCode = 'GRPC_UNAVAILABLE' | 'GRPC_DEADLINE_EXCEEDED' | 'GRPC_CANCELLED' | 'GRPC_STREAM_FAILED'

export class GrpcFailure extends Error {
  constructor(readonly code: GrpcFailureCode, message: string) {
    super(message)
  }
}

/** An answer in HTTP terms: status and the OpenAI error's type. */
export interface HttpAnswer {
  readonly status: number
  readonly type: string
  readonly retryAfter?: string
}

const HTTP_OF: Partial<Record<number, HttpAnswer>> = {
  [Status.INVALID_ARGUMENT]: { status: 400, type: 'invalid_request_error' },
  [Status.FAILED_PRECONDITION]: { status: 400, type: 'invalid_request_error' },
  [Status.OUT_OF_RANGE]: { status: 400, type: 'invalid_request_error' },
  [Status.UNAUTHENTICATED]: { status: 401, type: 'authentication_error' },
  [Status.PERMISSION_DENIED]: { status: 403, type: 'permission_error' },
  [Status.NOT_FOUND]: { status: 404, type: 'not_found_error' },
  [Status.ALREADY_EXISTS]: { status: 409, type: 'invalid_request_error' },
  [Status.ABORTED]: { status: 409, type: 'server_error' },
  [Status.RESOURCE_EXHAUSTED]: { status: 429, type: 'rate_limit_error' },
  [Status.UNIMPLEMENTED]: { status: 501, type: 'server_error' },
  [Status.UNKNOWN]: { status: 500, type: 'server_error' },
  [Status.INTERNAL]: { status: 500, type: 'server_error' },
  [Status.DATA_LOSS]: { status: 500, type: 'server_error' },
}

/** A failed call before any response: an HTTP answer to pass on, or a transport failure. */
export function classifyBeforeResponse(err: Grpc.ServiceError): HttpAnswer | GrpcFailure {
  switch (err.code) {
    case Status.UNAVAILABLE: return new GrpcFailure('GRPC_UNAVAILABLE', 'gRPC backend unavailable')
    case Status.DEADLINE_EXCEEDED: return new GrpcFailure('GRPC_DEADLINE_EXCEEDED', 'gRPC deadline exceeded')
    case Status.CANCELLED: return new GrpcFailure('GRPC_CANCELLED', 'gRPC call cancelled by the backend')
  }
  const http = HTTP_OF[err.code] ?? { status: 502, type: 'server_error' }
  if (err.code !== Status.RESOURCE_EXHAUSTED) return http
  const ra = err.metadata?.get('retry-after')[0]
  return ra === undefined ? http : { ...http, retryAfter: String(ra) }
}

/** A call that fails after its answer started: only the kind matters now (the stream ends with an error). */
export function classifyMidStream(err: Grpc.ServiceError): GrpcFailure {
  return err.code === Status.DEADLINE_EXCEEDED
    ? new GrpcFailure('GRPC_DEADLINE_EXCEEDED', 'gRPC deadline exceeded')
    : new GrpcFailure('GRPC_STREAM_FAILED', 'gRPC stream failed')
}
