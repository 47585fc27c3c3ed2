// Numbers that are not finite never reach a handler. Query strings and path parameters are coerced
// from text, and Ajv turns "1e309" into Infinity after its type and range checks, so it passes as an
// integer within any maximum (JSON bodies are checked by Ajv itself; kept here as a second guard).
// Found by the fuzz suite: `?limit=1e309` reached SQLite and failed with a 500.
import type { FastifySchemaCompiler } from 'fastify';

type Validate = ReturnType<FastifySchemaCompiler<unknown>>;

/** The JSON-pointer path of the first non-finite number in `value`, or null. */
export function nonFinitePath(value: unknown, path = ''): string | null {
  if (typeof value === 'number') return Number.isFinite(value) ? null : path;
  if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const found = nonFinitePath(item, `${path}/${key}`);
      if (found !== null) return found;
    }
  }
  return null;
}

/** Wraps a compiled schema validator: valid data with a non-finite number fails as a 400. */
export function finiteNumbersOnly(validate: Validate): Validate {
  const wrapped: Validate = (data: unknown) => {
    const result = validate(data);
    wrapped.errors = validate.errors;
    if (result !== true) return result;
    const path = nonFinitePath(data);
    if (path === null) return true;
    wrapped.errors = [{ instancePath: path, schemaPath: '', keyword: 'finite', params: {}, message: 'must be a finite number' }];
    return false;
  };
  return wrapped;
}
