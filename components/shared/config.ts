/**
 * Attribute parsing shared by the elements. Validation of what the core
 * understands (cluster id, signaling URLs) stays in the core.
 */
import type { ComplexAttributeConverter } from 'lit';

/**
 * Reads an `ice-servers` attribute: a JSON array of `RTCIceServer`. Text that is
 * not JSON is kept as the raw string so the element can report it
 * ({@link validIceServers} returns null for it).
 */
export const iceServersConverter: ComplexAttributeConverter<unknown> = {
  fromAttribute(value: string | null): unknown {
    if (value === null) return undefined;
    if (value.trim() === '') return [];
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  },
  toAttribute(value: unknown): string {
    return JSON.stringify(value);
  },
};

/** Returns `value` when it is an array of `RTCIceServer`-shaped objects, else null. */
export function validIceServers(value: unknown): RTCIceServer[] | null {
  if (!Array.isArray(value)) return null;
  const ok = value.every((s: unknown) => {
    if (typeof s !== 'object' || s === null) return false;
    const urls = (s as { urls?: unknown }).urls;
    return typeof urls === 'string' || (Array.isArray(urls) && urls.length > 0 && urls.every((u) => typeof u === 'string'));
  });
  return ok ? (value as RTCIceServer[]) : null;
}

/** Same ICE server lists (order matters). */
export function sameIceServers(a: readonly RTCIceServer[], b: readonly RTCIceServer[]): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/** Options shared by every `kpc-*` event: they cross shadow roots, like native UI events. */
export const EVENT_INIT = { bubbles: true, composed: true } as const;
