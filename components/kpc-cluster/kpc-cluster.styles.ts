import { css } from 'lit';

/** Styles of `<kpc-cluster>`. */
export const styles = css`
  :host {
    display: block;
    box-sizing: border-box;
    font-family: var(--kpc-font-family, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif);
    color: var(--kpc-color-text, inherit);
  }

  :host([hidden]) {
    display: none;
  }

  [part='base'] {
    display: flex;
    flex-wrap: wrap;
    align-items: flex-start;
    gap: var(--kpc-cluster-gap, 0.75rem);
    padding: var(--kpc-cluster-padding, 0);
    background: var(--kpc-cluster-background, transparent);
    border: var(--kpc-cluster-border, none);
    border-radius: var(--kpc-cluster-radius, 0);
  }
`;
