// The fleet simulator: a Fleet of VirtualDevices running the real agent code.
// May import: agent, core
export * from './fleet.js';
export * from './virtual-agent.js';
export * from './faults.js';
