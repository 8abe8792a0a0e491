import type { Preview } from '@storybook/web-components-vite';
import { setCustomElementsManifest } from '@storybook/web-components-vite';
// Written by `npm run analyze` (cem analyze --litelement); storybook:build runs it first.
import manifest from '../custom-elements.json' with { type: 'json' };

type Member = { privacy?: string; static?: boolean };
type Named = { name: string };
type Declaration = { members?: Member[]; cssParts?: Named[] };
type Manifest = { modules?: { declarations?: Declaration[] }[] };

/**
 * The manifest lists private and static members too; the docs show only the
 * public API. Storybook keys every row of the args table by name, so a part
 * named like an attribute (`signaling`, `state`, `peers`) would replace it:
 * parts are listed as `::part(name)`, which is also how they are used.
 */
function publicApi(m: Manifest): Manifest {
  return {
    ...m,
    modules: m.modules?.map((mod) => ({
      ...mod,
      declarations: mod.declarations?.map((d) => ({
        ...d,
        members: d.members?.filter((x) => (x.privacy ?? 'public') === 'public' && !x.static),
        cssParts: d.cssParts?.map((p) => ({ ...p, name: `::part(${p.name})` })),
      })),
    })),
  };
}

setCustomElementsManifest(publicApi(manifest as Manifest));

const preview: Preview = {
  tags: ['autodocs'],
  parameters: {
    // No colour matcher: the CSS custom properties (…-color, …-background) are documented, not controls.
    controls: { expanded: true },
  },
};
export default preview;
