// Guarded outbound connections: the deny list every server-initiated connection is checked against.
export * from './outbound-guard.js';
