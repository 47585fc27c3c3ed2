// Text that no database can store never reaches a handler. PostgreSQL's text and jsonb refuse
// U+0000, so `GET /api/v1/devices/a%00b` failed there with a 500 where SQLite answered 404 (found
// by the fuzz suite on PostgreSQL). Path parameters, query strings and JSON bodies, keys included,
// are checked on every route, with a schema or without, so both dialects answer the same 400.
// (Streamed imports are checked row by row by validateDevice.)
import type { FastifyRequest } from 'fastify';
import { NUL_MESSAGE, nulPath, ValidationError } from '../core/index.js';

/** preValidation hook: a 400 naming the field that holds U+0000. */
export async function refuseNulCharacters(request: FastifyRequest): Promise<void> {
  // (The router and the query parser build their maps on prototypes of their own: copied to plain objects.)
  const path = nulPath({ ...(request.params as object) }, 'params') ?? nulPath({ ...(request.query as object) }, 'querystring') ?? nulPath(request.body, 'body');
  if (path !== null) throw new ValidationError(`invalid request: ${path} ${NUL_MESSAGE}`, [{ path, message: NUL_MESSAGE }]);
}
