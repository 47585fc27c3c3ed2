// Input no store should take never reaches a handler, on any route, with a schema or without:
// U+0000 (PostgreSQL's text and jsonb refuse it, so `GET /api/v1/devices/a%00b` failed there with
// a 500 where SQLite answered 404) and JSON nested deeper than recursive code can walk (device
// metadata 30,000 arrays deep overflowed the stack). Both found by the fuzz suite. Path
// parameters, query strings and JSON bodies are checked; routes that parse their own bytes (Mender,
// registry webhooks) call refuseJsonProblem themselves, and streamed imports are checked row by row
// by validateDevice.
import type { FastifyRequest } from 'fastify';
import { refuseJsonProblem } from '../core/index.js';

/** For the preValidation hook (it runs before the schema validators, which recurse): a 400 naming the field. */
export function refuseJsonProblems(request: FastifyRequest): void {
  // (The router and the query parser build their maps on prototypes of their own: copied to plain objects.)
  refuseJsonProblem({ ...(request.params as object) }, 'params');
  refuseJsonProblem({ ...(request.query as object) }, 'querystring');
  refuseJsonProblem(request.body, 'body');
}
