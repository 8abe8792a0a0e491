// Every story of every stories file, rendered in the test page: the stories are
// documentation, and documentation that does not run is wrong.
import { expect } from 'chai';
import type { TemplateResult } from 'lit';
import * as clusterStories from '../../stories/kpc-cluster.stories.js';
import * as inferStories from '../../stories/kpc-infer.stories.js';
import * as meshStories from '../../stories/kpc-mesh-view.stories.js';
import * as nodeStories from '../../stories/kpc-node.stories.js';
import type { KpcErrorDetail, KpcNode } from '../../components/index.js';
import { allReadyWith, cleanup, fixture, part, parts, waitFor } from './util.js';

type Render = (args: Record<string, unknown>, context: unknown) => TemplateResult;
interface StoryModule {
  default: { args?: Record<string, unknown>; render?: Render };
  [name: string]: unknown;
}

/** The named exports of a CSF module that are stories. */
function storiesOf(mod: StoryModule): [string, { args?: Record<string, unknown>; render?: Render }][] {
  return Object.entries(mod).filter(([name, value]) => name !== 'default' && typeof value === 'object' && value !== null) as never;
}

/** Renders a story the way Storybook does: meta args, then story args, story render or meta render. */
function renderStory(mod: StoryModule, name: string): HTMLElement {
  const story = (mod as Record<string, { args?: Record<string, unknown>; render?: Render }>)[name];
  const args = { ...mod.default.args, ...story.args };
  const render = story.render ?? mod.default.render!;
  return fixture(render(args, { args, name }));
}

/** What each story must put on the page, and the mesh it must form. */
const expected: Record<string, { clusters: number; nodes: number; views: number; peers?: number; error?: boolean; infer?: 'complete' | 'INFER_CONTEXT_OVERFLOW'; trained?: boolean; powDifficulty?: number }> = {
  'kpc-cluster/FourNodeMesh': { clusters: 1, nodes: 4, views: 1, peers: 3 },
  'kpc-cluster/SingleNode': { clusters: 1, nodes: 1, views: 1, peers: 0 },
  'kpc-cluster/LowDifficulty': { clusters: 1, nodes: 3, views: 1, peers: 2, powDifficulty: 12 },
  'kpc-cluster/Themed': { clusters: 1, nodes: 3, views: 1, peers: 2 },
  'kpc-node/Alone': { clusters: 0, nodes: 1, views: 0, peers: 0 },
  'kpc-node/ManualStart': { clusters: 0, nodes: 1, views: 0 },
  'kpc-node/Pair': { clusters: 0, nodes: 2, views: 0, peers: 1 },
  'kpc-node/MissingSettings': { clusters: 0, nodes: 1, views: 0, error: true },
  'kpc-mesh-view/FourNodes': { clusters: 1, nodes: 4, views: 1, peers: 3 },
  'kpc-mesh-view/SingleNode': { clusters: 1, nodes: 1, views: 1, peers: 0 },
  'kpc-mesh-view/Empty': { clusters: 1, nodes: 0, views: 1 },
  'kpc-mesh-view/FaultInjection': { clusters: 1, nodes: 4, views: 1, peers: 3 },
  'kpc-infer/Default': { clusters: 0, nodes: 0, views: 0, infer: 'complete' },
  'kpc-infer/StreamingWithTemperature': { clusters: 0, nodes: 0, views: 0, infer: 'complete' },
  'kpc-infer/ContextOverflow': { clusters: 0, nodes: 0, views: 0, infer: 'INFER_CONTEXT_OVERFLOW' },
  'kpc-infer/TrainedModel': { clusters: 0, nodes: 0, views: 0, infer: 'complete', trained: true },
  'kpc-infer/OnACluster': { clusters: 1, nodes: 3, views: 1, peers: 2, infer: 'complete', trained: true },
};

const files: [string, StoryModule][] = [
  ['kpc-cluster', clusterStories as unknown as StoryModule],
  ['kpc-node', nodeStories as unknown as StoryModule],
  ['kpc-mesh-view', meshStories as unknown as StoryModule],
  ['kpc-infer', inferStories as unknown as StoryModule],
];

describe('stories', function () {
  this.timeout(60_000);
  afterEach(cleanup);

  it('every story has an expectation here', () => {
    const names = files.flatMap(([file, mod]) => storiesOf(mod).map(([name]) => `${file}/${name}`));
    expect(names.sort()).to.deep.equal(Object.keys(expected).sort());
  });

  for (const [file, mod] of files) {
    describe(`${file}.stories`, () => {
      for (const [name] of storiesOf(mod)) {
        it(`${name} renders its elements and works`, async () => {
          const want = expected[`${file}/${name}`];
          const errors: KpcErrorDetail[] = [];
          const root = renderStory(mod, name);
          root.addEventListener('kpc-error', (ev) => errors.push(ev.detail));
          expect(root.querySelectorAll('kpc-cluster')).to.have.length(want.clusters);
          expect(root.querySelectorAll('kpc-mesh-view')).to.have.length(want.views);
          const nodes = [...root.querySelectorAll('kpc-node')];
          expect(nodes).to.have.length(want.nodes);
          if (want.peers !== undefined) await waitFor(() => allReadyWith(nodes, want.peers!), 30_000, `${name}: nodes READY`);
          if (want.powDifficulty !== undefined) {
            for (const n of nodes) expect((n as KpcNode).node!.options.admission).to.deep.equal({ difficulty: want.powDifficulty });
          }
          for (const view of root.querySelectorAll('kpc-mesh-view')) {
            const links = (want.nodes * (want.peers ?? 0)) / 2;
            await waitFor(
              () => parts(view, '[part=node]').length === want.nodes && parts(view, '[part=link]').length === links,
              20_000,
              `${name}: ${want.nodes} nodes and ${links} links drawn`,
            );
          }
          if (want.error) {
            await waitFor(() => nodes[0].shadowRoot?.querySelector('[part=error]') !== null, 20_000, `${name}: error shown`);
          } else if (want.peers === undefined && want.nodes > 0) {
            await nodes[0].updateComplete;
            expect(nodes[0].state).to.equal('IDLE');
          }
          if (name === 'ManualStart') {
            (root.querySelector('button[data-action=start]') as HTMLButtonElement).click();
            await waitFor(() => nodes[0].state === 'READY', 20_000, 'READY after the start button');
            (root.querySelector('button[data-action=stop]') as HTMLButtonElement).click();
            await waitFor(() => nodes[0].state === 'OFFLINE', 20_000, 'OFFLINE after the stop button');
          }
          if (name === 'FaultInjection') {
            const view = root.querySelector('kpc-mesh-view')!;
            const dead = () => parts(view, '[part=link][data-health=dead]').length;
            (root.querySelector('button[data-action=crash]') as HTMLButtonElement).click();
            const crashed = nodes.find((n) => n.dataset.fault === 'crashed')!;
            const rest = nodes.filter((n) => n !== crashed);
            await waitFor(() => dead() === 3, 20_000, 'three dead links drawn after the crash button');
            await waitFor(() => allReadyWith(rest, 2) && rest.every((n) => part(n, '[part=recovery]').hasAttribute('data-healthy')), 30_000, 'the others recovered');
            (root.querySelector('button[data-action=restore]') as HTMLButtonElement).click();
            await waitFor(() => allReadyWith(nodes, 3) && dead() === 0, 30_000, 'all four READY again after the restore button');
          }
          if (name === 'Empty') expect(part(root.querySelector('kpc-mesh-view')!, '.empty')).to.exist;
          if (want.infer) {
            const infer = root.querySelector('kpc-infer')!;
            await infer.updateComplete;
            expect(part(infer, '[part=note]').textContent).to.contain(want.trained ? 'Trained weights' : 'untrained');
            (part(infer, '[part=generate]') as HTMLButtonElement).click();
            await waitFor(() => infer.status === 'done' || infer.status === 'error', 40_000, `${name}: generation ended`);
            if (want.trained) expect(infer.text).to.match(/\b(the|and|of|unto|LORD)\b/);
            if (want.infer === 'complete') {
              expect(infer.status).to.equal('done');
              expect(infer.tokens.length).to.be.greaterThan(0);
              expect(infer.tokens.length).to.be.at.most(infer.maxTokens);
            } else {
              expect(errors.map((e) => (e.error as Error & { code?: string }).code)).to.deep.equal([want.infer]);
            }
          }
          if (!want.error && want.infer !== 'INFER_CONTEXT_OVERFLOW') expect(errors).to.deep.equal([]);
        });
      }
    });
  }
});
