import { css } from 'lit';
import { stateColorRules } from '../shared/state-colors.js';

/** Styles of `<kpc-mesh-view>`. */
export const styles = [
  stateColorRules,
  css`
    :host {
      display: inline-block;
      box-sizing: border-box;
      font-family: var(--kpc-font-family, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif);
      color: var(--kpc-color-text, inherit);
    }

    :host([hidden]) {
      display: none;
    }

    [part='svg'] {
      display: block;
      max-width: 100%;
      height: auto;
      background: var(--kpc-mesh-background, transparent);
      border: var(--kpc-mesh-border, 1px solid #e5e7eb);
      border-radius: var(--kpc-mesh-radius, 0.5rem);
      overflow: visible;
    }

    [part='link'] {
      stroke: var(--kpc-mesh-link-color, #94a3b8);
      stroke-width: var(--kpc-mesh-link-width, 1.5px);
      stroke-linecap: round;
    }

    [part='link'][data-health='suspect'] {
      stroke: var(--kpc-mesh-link-suspect-color, #d97706);
      stroke-dasharray: 6 4;
    }

    [part='link'][data-health='dead'] {
      stroke: var(--kpc-mesh-link-dead-color, var(--kpc-color-danger, #b91c1c));
      /* Round caps turn the short dashes into dots; a pixel wider so they read as a line. */
      stroke-dasharray: 0.5 5;
      stroke-width: calc(var(--kpc-mesh-link-width, 1.5px) + 1px);
    }

    [part='node'] circle {
      fill: var(--kpc-_state-color);
      stroke: var(--kpc-mesh-node-stroke, #ffffff);
      stroke-width: 2px;
    }

    [part='node'][data-local] circle {
      stroke: var(--kpc-mesh-local-outline, #111827);
      stroke-width: var(--kpc-mesh-local-outline-width, 3px);
    }

    /* The segment ring: no fill, a coloured stroke, after the node rules so it wins. */
    [part='node'] circle.segment,
    [part='node'][data-local] circle.segment {
      fill: none;
      stroke-width: 3px;
      stroke: var(--kpc-mesh-segment-0, #2563eb);
    }
    [part='node'] circle.segment.s1 { stroke: var(--kpc-mesh-segment-1, #d97706); }
    [part='node'] circle.segment.s2 { stroke: var(--kpc-mesh-segment-2, #7c3aed); }
    [part='node'] circle.segment.s3 { stroke: var(--kpc-mesh-segment-3, #0d9488); }
    [part='node'] circle.segment.s4 { stroke: var(--kpc-mesh-segment-4, #db2777); }
    [part='node'] circle.segment.s5 { stroke: var(--kpc-mesh-segment-5, #65a30d); }

    [part='node'] text,
    .empty {
      fill: var(--kpc-mesh-label-color, currentColor);
      font-family: var(--kpc-font-mono, ui-monospace, SFMono-Regular, Menlo, Consolas, monospace);
      font-size: var(--kpc-mesh-label-size, 11px);
      text-anchor: middle;
      dominant-baseline: hanging;
      pointer-events: none;
      /* A halo keeps labels readable where links cross them. */
      paint-order: stroke;
      stroke: var(--kpc-mesh-label-halo, #ffffff);
      stroke-width: 3px;
      stroke-linejoin: round;
    }

    .empty {
      font-family: inherit;
      dominant-baseline: middle;
      fill: var(--kpc-color-muted, #6b7280);
      stroke: none;
    }
  `,
];
