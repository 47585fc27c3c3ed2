-- Download ahead and bandwidth caps (issue 16 items 3 and 4): a rollout with a window may let its
-- pull devices download before the window opens (they report `downloaded`, a state stored as text
-- like the others) and cap its download rate in total (per server) and per device, bytes/second.
ALTER TABLE rollouts ADD COLUMN download_ahead INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollouts ADD COLUMN max_bandwidth BIGINT;
ALTER TABLE rollouts ADD COLUMN max_device_bandwidth BIGINT;
