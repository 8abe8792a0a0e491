/**
 * Signaling channels (spec §2 "Bootstrap server", §4.1 discovery).
 *
 * A channel speaks the y-webrtc signaling protocol — `subscribe` / `unsubscribe`
 * topics, `publish` to a topic, `ping` → `pong` — so any y-webrtc signaling
 * server can bootstrap a kpc cluster. kpc's own messages travel as signed
 * envelopes (base64 text) in the `data` field of `publish`; the channel neither
 * trusts nor interprets them.
 *
 * Two implementations: {@link WebSocketSignaling} for `ws:`/`wss:` servers and
 * {@link BroadcastSignaling} for `local:<name>` — a same-origin BroadcastChannel,
 * used by Storybook and by pages that only want to mesh their own tabs.
 */
import { KpcError } from '../errors.js';

/** One frame delivered from a topic. */
export interface SignalingDelivery {
  readonly topic: string;
  /** The `data` field of the publish frame, untrusted: validate before use. */
  readonly data: unknown;
  /** URL of the channel that delivered it. */
  readonly source: string;
}

/** What the mesh needs from a bootstrap/signaling server. */
export interface SignalingChannel {
  /** The server URL (or `local:<name>`). */
  readonly url: string;
  /** True while frames can be published. */
  readonly connected: boolean;
  /** Subscribes to topics; remembered and re-sent after a reconnect. */
  subscribe(topics: readonly string[]): void;
  /** Publishes `data` to `topic`; dropped silently while disconnected (peers re-announce). */
  publish(topic: string, data: string): void;
  /** Called for every frame published to a subscribed topic. */
  onDelivery: ((d: SignalingDelivery) => void) | null;
  /** Called when the channel (re)connects or drops. */
  onStatus: ((connected: boolean) => void) | null;
  /** Stops for good: no reconnects. */
  close(): void;
}

/** Options of {@link WebSocketSignaling}. */
export interface WebSocketSignalingOptions {
  /** First reconnect delay; doubles up to `maxBackoffMs`. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Application-level ping interval (y-webrtc clients send `{type:'ping'}`). */
  pingMs?: number;
  /** Frames larger than this are dropped before parsing. */
  maxFrameBytes?: number;
  /** Where protocol-level complaints go. */
  log?: (msg: string, ctx?: Record<string, unknown>) => void;
}

/** A y-webrtc-protocol client over WebSocket that reconnects with back-off. */
export class WebSocketSignaling implements SignalingChannel {
  readonly url: string;
  onDelivery: ((d: SignalingDelivery) => void) | null = null;
  onStatus: ((connected: boolean) => void) | null = null;

  private ws: WebSocket | null = null;
  private readonly topics = new Set<string>();
  private closed = false;
  private backoff: number;
  private readonly opts: Required<Omit<WebSocketSignalingOptions, 'log'>> & Pick<WebSocketSignalingOptions, 'log'>;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;

  constructor(url: string, options: WebSocketSignalingOptions = {}) {
    this.url = url;
    this.opts = {
      minBackoffMs: options.minBackoffMs ?? 250,
      maxBackoffMs: options.maxBackoffMs ?? 10_000,
      pingMs: options.pingMs ?? 20_000,
      maxFrameBytes: options.maxFrameBytes ?? 64 * 1024,
      log: options.log,
    };
    this.backoff = this.opts.minBackoffMs;
    this.open();
  }

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  subscribe(topics: readonly string[]): void {
    const fresh = topics.filter((t) => !this.topics.has(t));
    fresh.forEach((t) => this.topics.add(t));
    if (fresh.length > 0) this.sendFrame({ type: 'subscribe', topics: fresh });
  }

  publish(topic: string, data: string): void {
    this.sendFrame({ type: 'publish', topic, data });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.pingTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      ws.close();
    }
  }

  private sendFrame(frame: object): void {
    if (this.connected) this.ws!.send(JSON.stringify(frame));
  }

  private open(): void {
    if (this.closed) return;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url);
    } catch (err) {
      this.opts.log?.('signaling url rejected', { url: this.url, error: String(err) });
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.backoff = this.opts.minBackoffMs;
      if (this.topics.size > 0) ws.send(JSON.stringify({ type: 'subscribe', topics: [...this.topics] }));
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.sendFrame({ type: 'ping' }), this.opts.pingMs);
      this.onStatus?.(true);
    };
    ws.onmessage = (ev) => this.receive(ev.data);
    ws.onclose = () => {
      clearInterval(this.pingTimer);
      if (this.ws === ws) this.ws = null;
      this.onStatus?.(false);
      this.scheduleReconnect();
    };
    ws.onerror = () => {
      /* onclose follows and handles the retry */
    };
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    clearTimeout(this.reconnectTimer);
    // Jitter keeps a restarted server from being hit by every node in the same tick.
    const delay = this.backoff * (0.75 + Math.random() * 0.5);
    this.backoff = Math.min(this.backoff * 2, this.opts.maxBackoffMs);
    this.reconnectTimer = setTimeout(() => this.open(), delay);
  }

  private receive(raw: unknown): void {
    if (typeof raw !== 'string' || raw.length > this.opts.maxFrameBytes) {
      this.opts.log?.('signaling frame dropped: not text or too large', { url: this.url });
      return;
    }
    let frame: unknown;
    try {
      frame = JSON.parse(raw);
    } catch {
      this.opts.log?.('signaling frame dropped: malformed JSON', { url: this.url });
      return;
    }
    const delivery = parsePublishFrame(frame, this.url);
    if (delivery && this.topics.has(delivery.topic)) this.onDelivery?.(delivery);
  }
}

/** Extracts a delivery from a y-webrtc `publish` frame; anything else is ignored. */
export function parsePublishFrame(frame: unknown, source: string): SignalingDelivery | null {
  if (typeof frame !== 'object' || frame === null) return null;
  const f = frame as { type?: unknown; topic?: unknown; data?: unknown };
  if (f.type !== 'publish' || typeof f.topic !== 'string') return null;
  return { topic: f.topic, data: f.data, source };
}

/**
 * Same-origin signaling over a BroadcastChannel (`local:<name>`): no server,
 * real WebRTC between the tabs and frames of one origin.
 */
export class BroadcastSignaling implements SignalingChannel {
  readonly url: string;
  onDelivery: ((d: SignalingDelivery) => void) | null = null;
  onStatus: ((connected: boolean) => void) | null = null;
  private readonly channel: BroadcastChannel;
  private readonly topics = new Set<string>();
  private isOpen = true;

  constructor(url: string) {
    this.url = url;
    this.channel = new BroadcastChannel(`kpc-signal:${url.slice('local:'.length)}`);
    this.channel.onmessage = (ev: MessageEvent) => {
      const delivery = parsePublishFrame(ev.data, this.url);
      if (delivery && this.topics.has(delivery.topic)) this.onDelivery?.(delivery);
    };
    queueMicrotask(() => this.onStatus?.(true));
  }

  get connected(): boolean {
    return this.isOpen;
  }

  subscribe(topics: readonly string[]): void {
    topics.forEach((t) => this.topics.add(t));
  }

  publish(topic: string, data: string): void {
    if (!this.isOpen) return;
    const frame = { type: 'publish', topic, data };
    this.channel.postMessage(frame);
    // BroadcastChannel does not echo to the sender; y-webrtc servers do. Echo so both behave alike.
    if (this.topics.has(topic)) queueMicrotask(() => this.onDelivery?.({ topic, data, source: this.url }));
  }

  close(): void {
    this.isOpen = false;
    this.channel.close();
  }
}

/** Builds the channel for a URL: `ws:`/`wss:` → WebSocket, `local:<name>` → BroadcastChannel. */
export function createSignaling(url: string, options?: WebSocketSignalingOptions): SignalingChannel {
  if (url.startsWith('local:')) return new BroadcastSignaling(url);
  if (url.startsWith('ws:') || url.startsWith('wss:')) return new WebSocketSignaling(url, options);
  throw new KpcError('CONFIG_INVALID', `unsupported signaling URL ${url}: use ws:, wss: or local:<name>`, { url });
}
