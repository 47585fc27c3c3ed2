// The fleet simulator's public face: a Fleet of VirtualDevices running the real agent code.
export * from './fleet.js';
export * from './virtual-agent.js';
export * from './faults.js';
