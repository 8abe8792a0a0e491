import { css } from 'lit';

/** Styles of `<kpc-infer>`. */
export const styles = css`
  :host {
    display: block;
    box-sizing: border-box;
    font-family: var(--kpc-font-family, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif);
    font-size: var(--kpc-infer-font-size, 0.875rem);
    color: var(--kpc-color-text, inherit);
  }

  :host([hidden]) {
    display: none;
  }

  [hidden] {
    display: none !important;
  }

  [part='base'] {
    display: flex;
    flex-direction: column;
    gap: var(--kpc-infer-gap, 0.5em);
    padding: var(--kpc-infer-padding, 0.75em);
    background: var(--kpc-infer-background, transparent);
    border: var(--kpc-infer-border, 1px solid #d1d5db);
    border-radius: var(--kpc-infer-radius, 0.5em);
    line-height: 1.4;
  }

  [part='prompt'],
  [part='output'] {
    box-sizing: border-box;
    width: 100%;
    margin: 0;
    font-family: var(--kpc-font-mono, ui-monospace, SFMono-Regular, Menlo, Consolas, monospace);
    font-size: 1em;
    border: 1px solid #d1d5db;
    border-radius: 0.375em;
    padding: 0.4em 0.55em;
  }

  [part='prompt'] {
    resize: vertical;
    color: inherit;
    background: transparent;
  }

  .actions {
    display: flex;
    gap: 0.5em;
  }

  button {
    font: inherit;
    padding: 0.3em 0.9em;
    border-radius: 0.375em;
    border: 1px solid #9ca3af;
    background: transparent;
    color: inherit;
    cursor: pointer;
  }

  [part='generate'] {
    background: var(--kpc-infer-accent, #0369a1);
    border-color: var(--kpc-infer-accent, #0369a1);
    color: var(--kpc-infer-accent-text, #ffffff);
  }

  button:disabled {
    opacity: 0.5;
    cursor: default;
  }

  button:focus-visible,
  [part='prompt']:focus-visible,
  [part='output']:focus-visible {
    outline: 2px solid var(--kpc-infer-accent, #0369a1);
    outline-offset: 1px;
  }

  [part='output'] {
    height: var(--kpc-infer-output-height, 12em);
    overflow: auto;
    white-space: pre-wrap;
    overflow-wrap: anywhere;
    background: var(--kpc-infer-output-background, #f9fafb);
  }

  [part='status'],
  [part='route'],
  [part='note'] {
    color: var(--kpc-color-muted, #4b5563);
    font-size: 0.9em;
  }

  [part='status'][data-status='error'] {
    color: var(--kpc-color-danger, #b91c1c);
  }

  [part='route'] .id {
    font-family: var(--kpc-font-mono, ui-monospace, SFMono-Regular, Menlo, Consolas, monospace);
  }

  [part='note'] {
    margin: 0;
    font-style: italic;
  }
`;
