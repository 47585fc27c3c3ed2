-- Saved groups and bulk actions (sqlite). A group is of one tenant, its name unique there; static
-- groups list their devices in device_group_members, dynamic ones keep a device filter (the
-- device list's query keys, as JSON) that is resolved each time it is used. A bulk action
-- freezes its selection in bulk_selections (one run's rows live only inside its transaction),
-- so its UPDATEs, its per-device history and its count all read the same set of devices.
CREATE TABLE device_groups (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  filter TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (tenant, name)
);
CREATE INDEX device_groups_name_idx ON device_groups (name);
CREATE TABLE device_group_members (
  group_id TEXT NOT NULL REFERENCES device_groups (id) ON DELETE CASCADE,
  device_id TEXT NOT NULL,
  PRIMARY KEY (group_id, device_id)
);
CREATE INDEX device_group_members_device_idx ON device_group_members (device_id);
CREATE TABLE bulk_selections (
  run_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  PRIMARY KEY (run_id, device_id)
);
