// HTTP pieces shared by the server's routes, the poll fast paths and the protocol adapters.
// May import: (none)
export * from './byte-ranges.js';
export * from './etag.js';
export * from './send-file.js';
