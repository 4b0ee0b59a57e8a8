// What a client gets when its HTTP request cannot even be parsed (a bad request line, headers past the
// size limit, a body that stops arriving): the OpenAI-style error JSON every other refusal has, written
// straight to the socket since no route ever sees such a request, then the connection is closed.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { FatalError, type NeurinoError, RetryableError, toOpenAIError } from '../../protocol/errors.ts';

/** Node's default header size limit (`--max-http-header-size`). */
const HEADER_LIMIT_KIB = 16;

/** The answer to a `clientError` of Node's HTTP server, by its code. */
export function clientErrorAnswer(code: string | undefined, requestTimeoutMs: number): NeurinoError {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return new FatalError('headers_too_large', {
        message: `Request headers larger than ${HEADER_LIMIT_KIB} KiB`,
      });
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new RetryableError('request_timeout', {
        message: `The request was not received within ${requestTimeoutMs / 1000} s`,
      });
    default:
      return new FatalError('invalid_request', {
        message: `Malformed HTTP request${code === undefined ? '' : ` (${code})`}`,
      });
  }
}

/** Fastify's `clientErrorHandler`. */
export function clientErrorHandler(requestTimeoutMs: number) {
  return (error: NodeJS.ErrnoException, socket: Socket): void => {
    // A connection the peer reset, or one already answered, has no one left to tell.
    if (error.code === 'ECONNRESET' || error.code === 'EPIPE' || !socket.writable) {
      socket.destroy();
      return;
    }
    const answer = clientErrorAnswer(error.code, requestTimeoutMs);
    const body = JSON.stringify(toOpenAIError(answer));
    socket.end(
      `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? 'Error'}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  };
}
