// The one place where errors become HTTP answers: {"error": {"code", "message", "details"}}.
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, AuthError, ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../core/index.js';

export function statusFor(error: AppError): number {
  if (error instanceof ValidationError) return 400;
  if (error instanceof AuthError) return 401;
  if (error instanceof ForbiddenError) return 403;
  if (error instanceof NotFoundError) return 404;
  if (error instanceof ConflictError) return 409;
  return 500;
}

export function sendError(reply: FastifyReply, status: number, code: string, message: string, details: unknown[] = []) {
  return reply.code(status).type('application/json; charset=utf-8').send({ error: { code, message, details } });
}

/** Our codes for Fastify's own errors; others answer 'bad_request'. */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_BAD_URL: 'bad_url',
  FST_ERR_MAX_PARAM_LENGTH: 'uri_too_long',
};

/** Fastify's own errors (schema validation, bad JSON, body too large, bad URL) carry a statusCode. */
export function errorHandler(error: FastifyError | AppError | Error, request: FastifyRequest, reply: FastifyReply) {
  if (error instanceof AppError) {
    const status = statusFor(error);
    if (status === 401) reply.header('WWW-Authenticate', 'Bearer');
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    return sendError(reply, status, error.code, error.message, error.details);
  }
  const fe = error as FastifyError;
  if (fe.validation) {
    const details = fe.validation.map((v) => {
      const path = (v.instancePath || '').replace(/^\//, '').replace(/\//g, '.');
      const missing = (v.params as { missingProperty?: string; additionalProperty?: string } | undefined) ?? {};
      const field = missing.missingProperty ?? missing.additionalProperty;
      const where = [fe.validationContext, path, field].filter(Boolean).join('.');
      const message = missing.additionalProperty ? 'is not a known field' : (v.message ?? 'is invalid');
      return { path: where, message };
    });
    return sendError(reply, 400, 'validation_failed', `invalid request: ${details.map((d) => `${d.path} ${d.message}`).join('; ')}`, details);
  }
  const status = fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 600 ? fe.statusCode : 500;
  if (status >= 500) {
    request.log.error({ err: error }, 'request failed');
    return sendError(reply, 500, 'internal', 'the server failed to handle this request; see its log for the request id ' + request.id);
  }
  const code = status === 429 ? 'rate_limited' : (FASTIFY_CODES[fe.code] ?? 'bad_request');
  return sendError(reply, status, code, fe.message);
}

/**
 * Requests Node's HTTP parser refuses before any route runs (headers over the size limit, broken
 * framing, a client too slow to send its headers) get the same error shape, then the connection closes.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    error.code === 'HPE_HEADER_OVERFLOW' ? [431, 'headers_too_large', 'the request headers are larger than the server accepts (16 KiB in all)']
    : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'request_timeout', 'the request was not received in time']
    : [400, 'bad_request', `the request is not valid HTTP (${error.code ?? 'parse error'})`];
  const body = JSON.stringify({ error: { code, message, details: [] } });
  if (socket.writable) socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`);
  socket.destroy();
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply) {
  return sendError(reply, 404, 'not_found', `no route ${request.method} ${request.url.split('?')[0]}; see /docs for the API`);
}

export { AppError, ConflictError, NotFoundError, ValidationError };
