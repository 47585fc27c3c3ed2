// Guarded outbound connections: the deny list every server-initiated connection is checked against.
// May import: core
export * from './outbound-guard.js';
