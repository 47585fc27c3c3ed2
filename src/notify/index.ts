// Outbound notifications: subscriptions and the notifier that delivers events to webhooks (signed) and by email (SMTP).
// May import: core, outbound, store
export * from './email.js';
export * from './email-format.js';
export * from './format.js';
export * from './notifier.js';
export * from './subscription.service.js';
