/** The regeneration Worker's bundled source (see scripts/worker-source.mjs). */
declare module 'virtual:kpc-regen-worker' {
  const source: string;
  export default source;
}
