/** Helpers of the element tests: fixtures, conditions (never clocks), shadow DOM queries. */
import { render, type TemplateResult } from 'lit';
import type { KpcNode } from '../../components/index.js';
import { waitFor as waitForCondition } from '../helpers/wait.js';

/**
 * Resolves once `cond()` holds (a throwing `cond` counts as false); rejects after `ms`
 * with `label`, so a failure says what never happened. Element tests pass the time
 * budget first; the shared helper takes the label first.
 */
export function waitFor(cond: () => boolean, ms = 20_000, label = cond.toString()): Promise<void> {
  return waitForCondition(cond, label, ms);
}

/** Resolves with the next `type` event on `target`; rejects after `ms`. */
export function nextEvent<T = unknown>(target: EventTarget, type: string, ms = 20_000): Promise<CustomEvent<T>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for event ${type}`)), ms);
    target.addEventListener(
      type,
      (ev) => {
        clearTimeout(timer);
        resolve(ev as CustomEvent<T>);
      },
      { once: true },
    );
  });
}

/** A cluster id (or any name) no other test shares. */
export function unique(prefix = 't'): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}

const containers: HTMLElement[] = [];

/** Renders `template` into a fresh container in the document; {@link cleanup} removes it. */
export function fixture(template: TemplateResult | unknown): HTMLElement {
  const container = document.createElement('div');
  container.className = 'fixture';
  document.body.append(container);
  containers.push(container);
  render(template, container);
  return container;
}

/**
 * Removes every fixture and waits until every node they held has stopped, so the
 * next test starts from a quiet page.
 */
export async function cleanup(): Promise<void> {
  const elements = containers.flatMap((c) => [...c.querySelectorAll('kpc-node')]);
  containers.splice(0).forEach((c) => c.remove());
  await waitFor(() => elements.every((el) => el.node === null || el.node.state === 'OFFLINE'), 20_000, 'fixture nodes stopped');
}

/** The element's shadow DOM element matching `selector` (throws when absent). */
export function part(el: Element, selector: string): Element {
  const found = el.shadowRoot?.querySelector(selector);
  if (!found) throw new Error(`${el.localName} has no ${selector} in its shadow DOM`);
  return found;
}

/** Every element matching `selector` in `el`'s shadow DOM. */
export function parts(el: Element, selector: string): Element[] {
  return [...(el.shadowRoot?.querySelectorAll(selector) ?? [])];
}

/** The peer count a `<kpc-node>` shows. */
export function shownPeers(el: KpcNode): number {
  return Number(part(el, '[part=peers]').getAttribute('data-count'));
}

/** The state a `<kpc-node>` shows. */
export function shownState(el: KpcNode): string {
  return part(el, '[part=state]').textContent?.trim() ?? '';
}

/** True when every node shows READY and `peers` open links (`n - 1` for a full mesh). */
export function allReadyWith(nodes: readonly KpcNode[], peers: number): boolean {
  return nodes.every((n) => n.state === 'READY' && shownState(n) === 'READY' && n.peers.length === peers && shownPeers(n) === peers);
}
