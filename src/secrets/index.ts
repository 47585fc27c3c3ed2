// The server's secrets key (device credentials at rest).
export * from './key-file.js';
