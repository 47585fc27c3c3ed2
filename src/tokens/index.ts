// Operator tokens: creating and revoking them, each with its event through the event log (so it reaches the live feed and every server's auth cache).
// May import: core, store
export * from './token.service.js';
