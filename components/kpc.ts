/**
 * The single-file entry (dist/cdn/kpc.js): the whole headless core plus every
 * element, registered on load. One script tag is all a page needs.
 */
export * from '../src/index.js';
export * from './index.js';
