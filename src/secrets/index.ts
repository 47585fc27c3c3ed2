// The server's secrets key (device credentials at rest).
// May import: core
export * from './key-file.js';
