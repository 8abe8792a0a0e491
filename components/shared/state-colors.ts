/**
 * The state colour palette shared by every element.
 *
 * Each lifecycle state (spec §3) has one CSS custom property, `--kpc-state-<state>`
 * in lower case (`--kpc-state-ready`, `--kpc-state-degraded`, …), with the default
 * below. An element marks a coloured thing with `data-state="<STATE>"` and
 * {@link stateColorRules} sets `--kpc-_state-color` on it, which its own styles
 * read (`background`, `fill`).
 */
import { unsafeCSS, type CSSResult } from 'lit';
import { NODE_STATES, type NodeState } from '../../src/state/machine.js';

/**
 * What an element can show: a lifecycle state, `UNKNOWN` (a far node whose state
 * has not been heard yet) or `IDLE` (a `<kpc-node>` that has not been started).
 */
export type DisplayState = NodeState | 'UNKNOWN' | 'IDLE';

/** Every state an element can colour, in lifecycle order. */
export const DISPLAY_STATES: readonly DisplayState[] = [...NODE_STATES, 'UNKNOWN', 'IDLE'];

/**
 * Default colours, chosen so white text on them keeps at least 4.5:1 contrast
 * (WCAG AA) except `UNKNOWN`, which is only ever a fill.
 */
export const STATE_COLORS: Readonly<Record<DisplayState, string>> = Object.freeze({
  BOOTSTRAP: '#0f766e',
  DISCOVERING: '#0369a1',
  CONNECTING: '#4338ca',
  SYNCING: '#7e22ce',
  READY: '#15803d',
  DEGRADED: '#b45309',
  RECOVERING: '#c2410c',
  OFFLINE: '#4b5563',
  UNKNOWN: '#94a3b8',
  IDLE: '#6b7280',
});

/** The custom property that themes `state`, e.g. `--kpc-state-ready`. */
export function stateColorProperty(state: DisplayState): string {
  return `--kpc-state-${state.toLowerCase()}`;
}

/** `var(--kpc-state-<state>, <default>)`: the themed colour of `state`. */
export function stateColor(state: DisplayState): string {
  return `var(${stateColorProperty(state)}, ${STATE_COLORS[state]})`;
}

/** Normalises anything to a {@link DisplayState} (unknown strings become `UNKNOWN`). */
export function toDisplayState(state: string | undefined | null): DisplayState {
  return (DISPLAY_STATES as readonly string[]).includes(state ?? '') ? (state as DisplayState) : 'UNKNOWN';
}

/**
 * `[data-state="READY"] { --kpc-_state-color: var(--kpc-state-ready, #15803d) }` for
 * every state. Private property (`--kpc-_…`): theme with the per-state ones.
 */
export const stateColorRules: CSSResult = unsafeCSS(
  DISPLAY_STATES.map((s) => `[data-state='${s}'] { --kpc-_state-color: ${stateColor(s)}; }`).join('\n'),
);
