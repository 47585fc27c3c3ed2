// Operator tokens: creating and revoking them, each with its event through the event log (so it
// reaches the live feed and every server's auth cache). Imports src/core and src/store only.
export * from './token.service.js';
