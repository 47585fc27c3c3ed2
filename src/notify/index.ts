// Outbound notifications: subscriptions and the notifier that signs and delivers events.
export * from './format.js';
export * from './notifier.js';
export * from './subscription.repository.js';
export * from './subscription.service.js';
