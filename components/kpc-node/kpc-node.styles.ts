import { css } from 'lit';
import { stateColorRules } from '../shared/state-colors.js';

/** Styles of `<kpc-node>`. */
export const styles = [
  stateColorRules,
  css`
    :host {
      display: inline-block;
      box-sizing: border-box;
      font-family: var(--kpc-font-family, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif);
      font-size: var(--kpc-node-font-size, 0.875rem);
      color: var(--kpc-color-text, inherit);
    }

    :host([hidden]) {
      display: none;
    }

    [part='base'] {
      display: inline-flex;
      flex-wrap: wrap;
      align-items: center;
      gap: 0.5em;
      padding: var(--kpc-node-padding, 0.5em 0.75em);
      background: var(--kpc-node-background, transparent);
      border: var(--kpc-node-border, 1px solid #d1d5db);
      border-left: 0.25em solid var(--kpc-_state-color);
      border-radius: var(--kpc-node-radius, 0.5em);
      line-height: 1.4;
    }

    [part='state'] {
      display: inline-block;
      min-width: 6.5em;
      padding: 0.1em 0.6em;
      border-radius: 999px;
      background: var(--kpc-_state-color);
      color: var(--kpc-state-text, #ffffff);
      font-size: 0.75em;
      font-weight: 600;
      letter-spacing: 0.04em;
      text-align: center;
    }

    [part='id'] {
      font-family: var(--kpc-font-mono, ui-monospace, SFMono-Regular, Menlo, Consolas, monospace);
    }

    [part='peers'],
    [part='sync'],
    [part='decision'],
    [part='signaling'] {
      color: var(--kpc-color-muted, #4b5563);
    }

    [part='signaling']::before {
      content: '';
      display: inline-block;
      width: 0.5em;
      height: 0.5em;
      margin-right: 0.35em;
      border-radius: 50%;
      vertical-align: 0.05em;
      background: var(--kpc-signaling-off, #9ca3af);
    }

    [part='signaling'][data-status='all']::before {
      background: var(--kpc-signaling-on, #16a34a);
    }

    [part='signaling'][data-status='some']::before {
      background: var(--kpc-signaling-partial, #d97706);
    }

    [part='recovery'] {
      color: var(--kpc-color-muted, #4b5563);
    }

    [part='recovery'][data-phase='start'] {
      color: var(--kpc-state-recovering, #c2410c);
      font-weight: 600;
    }

    [part='recovery'][data-phase='failed']:not([data-healthy]),
    [part='recovery'][data-phase='timeout']:not([data-healthy]) {
      color: var(--kpc-color-danger, #b91c1c);
    }

    [part='error'] {
      flex-basis: 100%;
      color: var(--kpc-color-danger, #b91c1c);
      font-size: 0.85em;
    }
  `,
];
