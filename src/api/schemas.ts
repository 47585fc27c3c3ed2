// Request and response schemas (TypeBox = JSON Schema): Fastify validates with them and
// /openapi.json is generated from them, so the documentation cannot drift from the code.
import { Type, type TSchema } from '@sinclair/typebox';
import { DEVICE_MODES, DEVICE_STATUSES } from '../core/index.js';

export const ErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      details: Type.Array(Type.Object({ path: Type.Optional(Type.String()), message: Type.String() }, { additionalProperties: true })),
    }),
  },
  { $id: 'Error' },
);

const literalUnion = (values: readonly string[], options: object = {}) => Type.Union(values.map((v) => Type.Literal(v)), options);

export const DeviceSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    address: Type.Union([Type.String(), Type.Null()]),
    mode: literalUnion(DEVICE_MODES),
    status: literalUnion(DEVICE_STATUSES),
    lastSeen: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    version: Type.Union([Type.String(), Type.Null()]),
    location: Type.Union([Type.String(), Type.Null()]),
    timezone: Type.String(),
    tags: Type.Record(Type.String(), Type.String()),
    metadata: Type.Record(Type.String(), Type.Unknown(), { description: 'free JSON; metadata.auth holds push credentials, shown as "[set]" (write-only, stored encrypted)' }),
    tenant: Type.String({ description: "hawkBit tenant ('DEFAULT' unless set)" }),
    deviceType: Type.Union([Type.String(), Type.Null()], { description: 'hardware type releases match against (Mender device_type, a hawkBit attribute, the agent\'s --device-type, or set here), else null' }),
    decommissionedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'when it was decommissioned (every credential revoked, history kept), else null' }),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Device' },
);

/** Body of POST/PUT: types are checked here, the rules (ids, URLs, time zones) in core. */
export const DeviceInputSchema = Type.Object(
  {
    id: Type.Optional(Type.String({ description: '1-128 letters, digits, ".", "_", ":", "@" or "-"' })),
    name: Type.Optional(Type.String()),
    address: Type.Optional(Type.Union([Type.String({ description: 'http(s):// URL for mode http; ssh://user@host:port/dir for mode ssh' }), Type.Null()])),
    mode: Type.Optional(literalUnion(DEVICE_MODES)),
    status: Type.Optional(literalUnion(DEVICE_STATUSES)),
    lastSeen: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    version: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    location: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    timezone: Type.Optional(Type.String({ description: 'IANA time zone, default UTC' })),
    tags: Type.Optional(Type.Record(Type.String(), Type.String())),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'free JSON; metadata.auth: push credentials (bearerToken, password, passphrase, privateKey, privateKeyFile, certFile, keyFile, caFile, knownHostsFile), strings, write-only; "[set]" keeps a stored value' })),
    tenant: Type.Optional(Type.String({ maxLength: 64, description: "hawkBit tenant: its DDI URL's first segment and the gateway token that may speak for it (default DEFAULT)" })),
    deviceType: Type.Optional(Type.Union([Type.String({ maxLength: 64, description: 'hardware type, e.g. rpi4: 1-64 letters, digits, "_", ".", "-", "+", ":" or "/"' }), Type.Null()])),
  },
  { additionalProperties: false },
);

const stringOrList = (description: string) => Type.Union([Type.String(), Type.Array(Type.String())], { description });

/** The device filter as query parameters, shared by list, export and counts. */
export const DeviceFilterQuery = {
  status: Type.Optional(stringOrList('online, offline or unknown; comma-separated for several')),
  mode: Type.Optional(stringOrList('pull, http or ssh')),
  location: Type.Optional(stringOrList('exact location; comma-separated for several')),
  version: Type.Optional(Type.String({ description: 'exact version, or a semver range such as <2.4.0 or ">=1.2 <2"' })),
  tag: Type.Optional(stringOrList('key=value or key:value; repeat for several (all must match)')),
  q: Type.Optional(Type.String({ description: 'case-insensitive substring of id or name', maxLength: 256 })),
  lastSeenBefore: Type.Optional(Type.String({ description: 'ISO-8601 date-time' })),
  lastSeenAfter: Type.Optional(Type.String({ description: 'ISO-8601 date-time' })),
  tenant: Type.Optional(stringOrList('hawkBit tenant; comma-separated for several')),
  deviceType: Type.Optional(stringOrList('device type (exact); comma-separated for several')),
  decommissioned: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')], { description: 'true: only decommissioned devices (default: devices in service)' })),
  group: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'a saved group, by name or id: its members (static) or whoever its filter matches now (dynamic)' })),
};

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 600, description: 'nextCursor of the previous page' })),
};

export const listOf = (item: TSchema) =>
  Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]), total: Type.Integer() });

export const errorResponses = {
  400: ErrorSchema,
  401: ErrorSchema,
  403: ErrorSchema,
  404: ErrorSchema,
  409: ErrorSchema,
};
