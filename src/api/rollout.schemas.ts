// Request and response schemas of the rollout API (Rollout JSON of DESIGN.md, executions, progress).
// Bodies are checked for types here; the rules (phases, windows, zones) are core's validateRolloutSpec.
import { Type, type TSchema } from '@sinclair/typebox';
import { EXECUTION_STATES, ROLLOUT_STATUSES, ROLLOUT_STRATEGIES } from '../core/index.js';

const literals = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));
const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const open = (description: string) => Type.Object({}, { additionalProperties: true, description });

export const PhaseSchema = Type.Object(
  {
    percent: Type.Optional(Type.Number({ description: 'cumulative percent of the target set this phase reaches' })),
    count: Type.Optional(Type.Integer({ description: 'cumulative number of devices this phase reaches' })),
    successThreshold: Type.Optional(Type.Number({ description: 'percent of the phase that must succeed before the next starts (default 100)' })),
    soakSeconds: Type.Optional(Type.Integer({ description: 'wait after reaching the threshold before advancing' })),
    requireApproval: Type.Optional(Type.Boolean({ description: 'advance only after POST /rollouts/:id/approve' })),
  },
  { additionalProperties: true },
);

/** POST /api/v1/rollouts. Unknown fields reach core validation, which names them. */
export const RolloutInputSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 200 })),
    artifactId: Type.String({ description: 'id of an uploaded artifact' }),
    filter: Type.Optional(open('device filter: the query keys of GET /api/v1/devices (status, mode, location, version, tag, q, lastSeenBefore, lastSeenAfter, ids)')),
    // Checked by core validation, whose message lists the allowed values.
    strategy: Type.Optional(Type.String({ description: ROLLOUT_STRATEGIES.join(' | ') })),
    phases: Type.Optional(Type.Array(PhaseSchema)),
    errorThreshold: Type.Optional(nullable(Type.Object({ percent: Type.Number(), action: Type.Optional(literals(['pause', 'abort'])) }, { additionalProperties: true }))),
    window: Type.Optional(
      nullable(
        Type.Union([
          Type.String({ description: 'daily HH:MM-HH:MM' }),
          open('{"daily": "02:00-04:00"} or {"cron": "0 2 * * *", "durationMinutes": 120}; optional "timezone" (fixed zone; default each device\'s own) and "expectedDurationSeconds"'),
        ]),
      ),
    ),
    startAt: Type.Optional(nullable(Type.String({ description: 'ISO-8601 instant; the device set is fixed when it starts' }))),
    maxConcurrency: Type.Optional(nullable(Type.Integer())),
    retry: Type.Optional(open('{"maxAttempts": 3, "backoffSeconds": 5, "maxBackoffSeconds": 300}')),
    rateLimit: Type.Optional(nullable(open('{"perMinute": N, "growthFactor": F, "growEvery": M, "maxPerMinute": X}'))),
    continuous: Type.Optional(Type.Boolean({ description: 'devices that match the filter later join until the rollout is closed' })),
  },
  { additionalProperties: true },
);

const Counts = Type.Record(Type.String(), Type.Integer());

export const ProgressSchema = Type.Object({
  total: Type.Integer(),
  finished: Type.Integer(),
  bytes: Type.Number(),
  bytesFetched: Type.Number({ description: 'bytes devices fetched over the network (delta ranges, indexes, full downloads)' }),
  bytesReused: Type.Number({ description: 'bytes devices reused from files they already held instead of fetching them' }),
  ratePerSecond: Type.Number(),
  etaSeconds: nullable(Type.Integer()),
  phases: Type.Array(Type.Object({ phase: Type.Integer(), devices: Type.Integer(), counts: Counts })),
});

export const RolloutSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    artifactId: Type.String(),
    filter: open('the device filter as given'),
    strategy: literals(ROLLOUT_STRATEGIES),
    phases: Type.Array(PhaseSchema),
    errorThreshold: nullable(open('error threshold')),
    window: nullable(open('maintenance window')),
    startAt: nullable(Type.String()),
    maxConcurrency: nullable(Type.Integer()),
    retry: open('retry policy'),
    rateLimit: nullable(open('rate limit')),
    continuous: Type.Boolean(),
    closed: Type.Boolean(),
    status: literals(ROLLOUT_STATUSES),
    statusReason: nullable(Type.String()),
    currentPhase: Type.Integer({ description: '0-based index of the phase being delivered' }),
    approvedPhase: Type.Integer(),
    phaseReachedAt: nullable(Type.String()),
    failureBaseline: Type.Integer(),
    rollbackOf: nullable(Type.String()),
    createdBy: Type.String(),
    createdAt: Type.String(),
    updatedAt: Type.String(),
    startedAt: nullable(Type.String()),
    finishedAt: nullable(Type.String()),
    counts: Counts,
    progress: Type.Optional(ProgressSchema),
  },
  { additionalProperties: false },
);

export const ExecutionSchema = Type.Object(
  {
    id: Type.String(),
    rolloutId: Type.String(),
    deviceId: Type.String(),
    artifactId: Type.String(),
    phase: Type.Integer(),
    state: literals(EXECUTION_STATES),
    attempts: Type.Integer(),
    nextAttemptAt: nullable(Type.String()),
    leaseOwner: nullable(Type.String()),
    leaseExpiresAt: nullable(Type.String()),
    pull: Type.Boolean(),
    bytes: Type.Number({ description: 'bytes of the artifact the device holds so far' }),
    bytesFetched: nullable(Type.Number({ description: 'bytes that crossed the network for this execution; null until reported' })),
    bytesReused: nullable(Type.Number({ description: 'bytes the device reused from files it already held (delta transfer); null until reported' })),
    error: nullable(Type.String()),
    previousArtifactId: nullable(Type.String()),
    previousVersion: nullable(Type.String()),
    createdAt: Type.String(),
    updatedAt: Type.String(),
    startedAt: nullable(Type.String()),
    finishedAt: nullable(Type.String()),
  },
  { additionalProperties: false },
);
