export * from './types.js';
export * from './link.js';
export * from './signaling.js';
export * from './webrtc-link.js';
export * from './mesh.js';
