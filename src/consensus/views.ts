/**
 * Member lists ("views"): this node's own, read from the membership source, and the
 * ones other nodes' messages name, by {@link viewId}.
 */
import { isNodeId } from '../crypto/identity.js';
import { viewId } from './messages.js';

/** A member list, normalized (sorted, distinct node ids), with its {@link viewId}. */
export interface View {
  readonly key: string;
  readonly list: readonly string[];
  readonly set: ReadonlySet<string>;
  readonly id: string;
}

/** Most member lists remembered; old ones only matter for votes of long-gone slots. */
const MAX_VIEWS = 64;

/** The member lists a node knows. */
export class Views {
  readonly #lists = new Map<string, readonly string[]>();
  #current?: View;

  constructor(readonly source: () => readonly string[]) {}

  /** This node's view now. A failing or malformed source counts as empty: the node then signs nothing. */
  current(): View {
    let raw: readonly string[] = [];
    try {
      raw = this.source();
    } catch {
      raw = [];
    }
    const list = Array.isArray(raw) ? [...new Set(raw.filter(isNodeId))].sort() : [];
    const key = list.join(',');
    if (this.#current?.key !== key) {
      const id = viewId(list);
      this.#current = { key, list: Object.freeze(list), set: new Set(list), id };
      this.learn(id, list);
    }
    return this.#current;
  }

  /** Remembers a member list (from a proposal, or this node's own). */
  learn(id: string, list: readonly string[]): void {
    if (this.#lists.has(id)) return;
    this.#lists.set(id, list);
    if (this.#lists.size > MAX_VIEWS) this.#lists.delete(this.#lists.keys().next().value as string);
  }

  /** The member list with this id, if known. */
  get(id: string): readonly string[] | undefined {
    return this.#lists.get(id);
  }
}
