// `npm run analyze` → custom-elements.json, read by Storybook (autodocs, controls)
// and by editors (package.json "customElements").
export default {
  globs: ['components/**/*.ts'],
  exclude: ['components/**/*.styles.ts', 'components/**/*.stories.ts', 'components/**/*.test.ts', 'components/kpc.ts'],
  outdir: '.',
  litelement: true,
};
