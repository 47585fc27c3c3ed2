// Request and response schemas of the rollout API (Rollout JSON of DESIGN.md, executions, progress).
// Bodies are checked for types here; the rules (phases, windows, zones) are core's validateRolloutSpec.
import { Type, type TSchema } from '@sinclair/typebox';
import { EXECUTION_STATES, PAUSE_CAUSES, ROLLOUT_STATUSES, ROLLOUT_STRATEGIES, WAITING_REASONS } from '../core/index.js';

const literals = (values: readonly string[], description?: string) => Type.Union(values.map((v) => Type.Literal(v)), description ? { description } : {});
const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const open = (description: string) => Type.Object({}, { additionalProperties: true, description });

export const PhaseSchema = Type.Object(
  {
    percent: Type.Optional(Type.Number({ description: 'cumulative percent of the target set this phase reaches' })),
    count: Type.Optional(Type.Integer({ description: 'cumulative number of devices this phase reaches' })),
    successThreshold: Type.Optional(
      nullable(Type.Number({ description: 'percent of the phase that must have succeeded, once all its devices are final, for the phase to pass; none by default (the error threshold alone decides). A miss pauses the rollout' })),
    ),
    soakSeconds: Type.Optional(Type.Integer({ description: 'wait after reaching the threshold before advancing' })),
    requireApproval: Type.Optional(Type.Boolean({ description: 'advance only after POST /rollouts/:id/approve' })),
  },
  { additionalProperties: true },
);

/** POST /api/v1/rollouts. Unknown fields reach core validation, which names them. */
export const RolloutInputSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 200 })),
    artifactId: Type.Optional(Type.String({ maxLength: 200, description: 'id of an uploaded artifact every targeted device gets (give this or releaseId)' })),
    releaseId: Type.Optional(Type.String({ maxLength: 200, description: 'id of a release: each targeted device gets the artifact whose match fits it, or is skipped with the reason (give this or artifactId)' })),
    filter: Type.Optional(open('device filter: the query keys of GET /api/v1/devices (status, mode, location, version, tag, q, lastSeenBefore, lastSeenAfter, ids)')),
    // Checked by core validation, whose message lists the allowed values.
    strategy: Type.Optional(Type.String({ description: ROLLOUT_STRATEGIES.join(' | ') })),
    phases: Type.Optional(Type.Array(PhaseSchema)),
    errorThreshold: Type.Optional(
      nullable(
        Type.Object(
          {
            percent: Type.Number({ description: 'failed or rolled-back devices, percent of the current phase, that are tolerated; more stops the rollout at once' }),
            action: Type.Optional(literals(['pause', 'abort'], 'pause (default): pause with the reason, resume goes on; abort: the rollout ends failed and devices not started are cancelled')),
          },
          { additionalProperties: true },
        ),
      ),
    ),
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
    downloadAhead: Type.Optional(Type.Boolean({ description: 'with a window: pull devices download and verify at once, report downloaded, and install when the window opens' })),
    maxBandwidth: Type.Optional(nullable(Type.Union([Type.String({ maxLength: 40 }), Type.Number()], { description: 'cap on the rollout\'s total download rate on each server: "50MB/s", "200Mbit/s", or bytes per second' }))),
    maxDeviceBandwidth: Type.Optional(nullable(Type.Union([Type.String({ maxLength: 40 }), Type.Number()], { description: 'cap on each device\'s download rate, as maxBandwidth' }))),
  },
  { additionalProperties: true },
);

const Counts = Type.Record(Type.String(), Type.Integer(), { description: 'devices per execution state; states with none are left out; adds up to the device count' });
const Percent = (description: string) => Type.Number({ minimum: 0, maximum: 100, description });

export const PhaseProgressSchema = Type.Object({
  phase: Type.Integer({ description: '1-based phase number' }),
  devices: Type.Integer(),
  counts: Counts,
  finished: Type.Integer({ description: 'devices in a final state' }),
  succeeded: Type.Integer(),
  failed: Type.Integer({ description: 'failed or rolled back' }),
  downloaded: Type.Integer({ description: 'download-ahead devices ready to install, waiting for the window' }),
  percentDone: Percent('finished / devices'),
  successRate: nullable(Percent('succeeded / finished; null while none finished')),
});

export const ProgressSchema = Type.Object({
  total: Type.Integer({ description: "the rollout's device count (the sum of counts)" }),
  finished: Type.Integer({ description: 'devices in a final state: succeeded, failed, rolled-back, cancelled, skipped' }),
  percentDone: Percent('finished / total, one decimal'),
  succeeded: Type.Integer(),
  failed: Type.Integer({ description: 'failed or rolled back (a device that restored its previous version after failed health checks)' }),
  successRate: nullable(Percent('succeeded / finished, one decimal; null while nothing finished')),
  installedAfterCancel: Type.Integer({ description: 'cancelled devices that reported installing the update anyway (counted as cancelled)' }),
  downloaded: Type.Integer({ description: 'download-ahead devices ready to install: the artifact downloaded and verified, waiting for the window (counts.downloaded)' }),
  bytes: Type.Number(),
  bytesFetched: Type.Number({ description: 'bytes devices fetched over the network (delta ranges, indexes, full downloads)' }),
  bytesReused: Type.Number({ description: 'bytes devices reused from files they already held instead of fetching them' }),
  ratePerSecond: Type.Number({ description: 'devices finished per second over the last minute' }),
  etaSeconds: nullable(Type.Integer({ description: 'null while paused or waiting, or when no rate is known yet' })),
  phases: Type.Array(PhaseProgressSchema),
});

export const RolloutSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    artifactId: Type.String({ description: "the artifact every device gets; for a rollout of a release, its first artifact (each execution's artifactId is what its device gets)" }),
    releaseId: nullable(Type.String({ description: 'the release rolled out; null for a rollout of one artifact' })),
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
    downloadAhead: Type.Boolean({ description: 'pull devices download ahead and install only when the window opens' }),
    maxBandwidth: nullable(Type.Integer({ description: 'cap on the total download rate on each server, bytes per second' })),
    maxDeviceBandwidth: nullable(Type.Integer({ description: 'cap on each device\'s download rate, bytes per second' })),
    closed: Type.Boolean(),
    status: literals(ROLLOUT_STATUSES),
    statusReason: nullable(Type.String()),
    currentPhase: Type.Integer({ description: '0-based index of the phase being delivered' }),
    approvedPhase: Type.Integer(),
    phaseReachedAt: nullable(Type.String({ description: 'when the current phase passed (its soak started)' })),
    failureBaseline: Type.Integer({ description: 'failures of the current phase accepted by the last resume' }),
    acceptedPhase: Type.Integer({ description: '0-based index of the last phase whose missed success threshold an operator accepted by resuming (-1: none)' }),
    pauseCause: nullable(literals(PAUSE_CAUSES, 'why a paused rollout is paused: operator, error-threshold or success-threshold; null unless paused')),
    revert: Type.Boolean({ description: 'a rollback that switches devices back to the release kept in their other slot; artifactId is the artifact being left' }),
    rollbackOf: nullable(Type.String()),
    createdBy: Type.String(),
    createdAt: Type.String(),
    updatedAt: Type.String(),
    startedAt: nullable(Type.String()),
    finishedAt: nullable(Type.String()),
    counts: Counts,
    progress: ProgressSchema,
    waiting: nullable(
      literals(WAITING_REASONS, 'what a running (or scheduled) rollout that starts nothing now waits for: approval (orchestrator rollouts approve ID), soak, window, rate-limit, start; null while delivering, paused or finished'),
    ),
    waitingUntil: nullable(Type.String({ description: 'ISO instant the wait ends, where known' })),
  },
  { additionalProperties: false },
);

const executionFields = {
  id: Type.String(),
  rolloutId: Type.String(),
  deviceId: Type.String(),
  artifactId: Type.String(),
  phase: Type.Integer({ description: '0-based phase index' }),
  state: literals(EXECUTION_STATES),
  attempts: Type.Integer({ description: 'delivery attempts started (push); an operator retry starts again from 0' }),
  nextAttemptAt: nullable(Type.String()),
  leaseOwner: nullable(Type.String()),
  leaseExpiresAt: nullable(Type.String()),
  pull: Type.Boolean(),
  bytes: Type.Number({ description: 'bytes of the artifact the device holds so far (delivered, or downloaded as it reports)' }),
  bytesFetched: nullable(Type.Number({ description: 'bytes that crossed the network for this execution; null until reported' })),
  bytesReused: nullable(Type.Number({ description: 'bytes the device reused from files it already held (delta transfer); null until reported' })),
  error: nullable(Type.String({ description: 'the last error (failed, rolled-back, or a retry waiting)' })),
  note: nullable(Type.String({ description: 'a remark on the outcome that is not an error, e.g. "the device installed fw 2.0 before the cancel reached it"' })),
  installedAfterCancel: Type.Boolean({ description: 'cancelled, but the device reported it installed the update anyway (its install could not be interrupted); its version is recorded' }),
  previousArtifactId: nullable(Type.String()),
  previousVersion: nullable(Type.String()),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  stateSince: Type.String({ description: 'when the execution entered its current state' }),
  startedAt: nullable(Type.String()),
  finishedAt: nullable(Type.String()),
};

export const ExecutionSchema = Type.Object(executionFields, { additionalProperties: false });

/** POST /api/v1/rollouts?dryRun=true: what the rollout would do, from the same matcher as its start. */
export const RolloutPlanSchema = Type.Object(
  {
    total: Type.Integer({ description: 'devices the filter targets now' }),
    byArtifact: Type.Record(Type.String(), Type.Integer(), { description: 'devices each artifact would go to, by artifact id' }),
    skipped: Type.Array(Type.Object({ reason: Type.String(), devices: Type.Integer() }), { description: 'devices nothing of the release fits, by reason' }),
  },
  { $id: 'RolloutPlan' },
);

/** An entry of GET /api/v1/devices/:id/executions: an execution with its rollout and artifact. */
export const DeviceExecutionSchema = Type.Object(
  {
    ...executionFields,
    rolloutName: Type.String(),
    artifact: nullable(Type.Object({ id: Type.String(), name: Type.String(), version: Type.String() }, { description: 'null when the artifact was deleted' })),
  },
  { additionalProperties: false },
);

export const RetryInputSchema = Type.Object(
  { deviceId: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'retry only this device (default: every failed or rolled-back device)' })) },
  { additionalProperties: false },
);

export const RetryResultSchema = Type.Object({
  rollout: RolloutSchema,
  retried: Type.Integer({ description: 'devices re-queued' }),
  reopened: Type.Boolean({ description: 'the rollout had ended and runs again' }),
});

export const RollbackResultSchema = Type.Object({
  rollout: RolloutSchema,
  rollbacks: Type.Array(RolloutSchema, { description: "one rollout per previous artifact, plus one revert rollout (revert: true) for agents that switch back to their other slot" }),
  withoutPrevious: Type.Array(Type.String(), { description: 'devices that cannot be rolled back (ids); see notRolledBack for why' }),
  notRolledBack: Type.Array(Type.Object({ deviceId: Type.String(), reason: Type.String() }), { description: 'devices that cannot be rolled back, each with the reason' }),
});
