-- Email notifications: a subscription is a webhook (url, signed with its secret) or an email
-- (recipients; sent through the server's SMTP settings, ORCHESTRATOR_SMTP_URL). Existing rows are
-- webhooks.
ALTER TABLE subscriptions ADD COLUMN kind TEXT NOT NULL DEFAULT 'webhook';
ALTER TABLE subscriptions ADD COLUMN email_to TEXT NOT NULL DEFAULT '[]';
