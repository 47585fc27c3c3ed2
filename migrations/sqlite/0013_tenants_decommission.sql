-- hawkBit tenants and decommissioning (sqlite): every device belongs to a tenant ('DEFAULT' unless
-- set), which its hawkBit target token and its tenant's gateway token must match; a decommissioned
-- device keeps its row (so its executions, events and reports stay readable) with the time it was
-- decommissioned, and is left out of lists, counts and rollouts from then on.
ALTER TABLE devices ADD COLUMN tenant TEXT NOT NULL DEFAULT 'DEFAULT';
ALTER TABLE devices ADD COLUMN decommissioned_at BIGINT;
CREATE INDEX devices_tenant_idx ON devices (tenant, id);
