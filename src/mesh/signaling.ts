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
 *
 * A kpc server may ask for proof-of-π admission (docs/signaling.md, "Proof-of-π
 * admission at the server"): it opens with `kpc-challenge`, and relays a connection's
 * publishes only after a `kpc-admit` signed over that challenge. The `admit` option
 * answers it; y-webrtc servers never ask.
 */
import { concatBytes, fromBase64, sign, toBase64, utf8Encode, type Identity } from '../crypto/index.js';
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
  /**
   * Answers the server's admission challenge again, with what the `admit` hook returns
   * now: call it when the node's proof changes. A no-op where no challenge was received.
   */
  readmit?(): void;
}

/** Domain of the admission signature; see {@link signalingAdmitMessage}. */
export const SIGNALING_ADMIT_CONTEXT = 'kpc/signal-admit/v1';
/** Bytes of a server's admission challenge. */
export const SIGNALING_NONCE_BYTES = 32;

/** What a node shows a signaling server that asks for proof-of-π admission. */
export interface SignalingAdmit {
  /** Ed25519 public key (32 bytes): the node's, the one the proof is bound to. */
  readonly key: Uint8Array;
  /** The node's proof-of-π, as the base64 text its ANNOUNCE carries. */
  readonly proof: string;
  /** Ed25519 signature by `key` over {@link signalingAdmitMessage}(nonce, url). */
  readonly signature: Uint8Array;
}

/**
 * Answers a server's admission challenge: `nonce` is the server's 32 random bytes, `url`
 * the server URL as this channel dialled it. Returns undefined while there is no proof
 * yet (call {@link SignalingChannel.readmit} once there is).
 */
export type SignalingAdmitHook = (nonce: Uint8Array, url: string) => SignalingAdmit | undefined;

/**
 * The bytes an admit signs: `utf8("kpc/signal-admit/v1") ‖ nonce (32 bytes) ‖ utf8(url)`.
 * The nonce makes the signature worthless on any other connection; the URL, on any other
 * server that knows its own public URL (so a server cannot relay a challenge to us and
 * our answer to another server).
 */
export function signalingAdmitMessage(nonce: Uint8Array, url: string): Uint8Array {
  return concatBytes(utf8Encode(SIGNALING_ADMIT_CONTEXT), nonce, utf8Encode(url));
}

/**
 * The usual {@link SignalingAdmitHook}: signs the challenge with `identity` and shows
 * `proofText()` (e.g. `AdmissionTicket.proofText()`), or nothing while that is undefined.
 */
export function signalingAdmitter(identity: Identity, proofText: () => string | undefined): SignalingAdmitHook {
  return (nonce, url) => {
    const proof = proofText();
    if (!proof) return undefined;
    return { key: identity.publicKey, proof, signature: sign(identity, signalingAdmitMessage(nonce, url)) };
  };
}

/** The part of the WebSocket constructor the channel uses (browsers' own, or `ws` in Node). */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

const WS_OPEN = 1;
/** Least time between two answers to server-sent challenges on one connection. */
const CHALLENGE_ANSWER_INTERVAL_MS = 1_000;

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
  /**
   * Answers proof-of-π admission challenges (see {@link signalingAdmitter}). With it, the
   * channel reports `connected` only once it knows its publishes will be relayed: after a
   * pong without a challenge first (a server without admission, y-webrtc's included), or
   * after `kpc-admitted`. Without it, a server's challenge is logged and the channel
   * stays disconnected on that server.
   */
  admit?: SignalingAdmitHook;
  /** With `admit`: a server silent this long after connecting (no challenge, no pong) is treated as one without admission. Default 5000. */
  probeTimeoutMs?: number;
  /** WebSocket constructor; default the global one (Node 20 has none: pass `ws`'s). */
  WebSocket?: WebSocketConstructor;
}

/**
 * Where one connection stands: `probing` (open, waiting to learn whether the server asks
 * for admission), `challenged` (it asked; not admitted yet, or no longer), `ready`
 * (publishes are relayed).
 */
type Phase = 'probing' | 'challenged' | 'ready';

/** A y-webrtc-protocol client over WebSocket that reconnects with back-off. */
export class WebSocketSignaling implements SignalingChannel {
  readonly url: string;
  onDelivery: ((d: SignalingDelivery) => void) | null = null;
  onStatus: ((connected: boolean) => void) | null = null;

  private ws: WebSocketLike | null = null;
  private readonly topics = new Set<string>();
  private closed = false;
  private backoff: number;
  private readonly opts: Required<Omit<WebSocketSignalingOptions, 'log' | 'admit' | 'WebSocket'>> &
    Pick<WebSocketSignalingOptions, 'log' | 'admit' | 'WebSocket'>;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private probeTimer: ReturnType<typeof setTimeout> | undefined;
  private phase: Phase = 'probing';
  /** The current connection's challenge, once the server sent one. */
  private nonce: Uint8Array | null = null;
  /** When the last server challenge was answered, and a deferred answer, if any (see `onChallenge`). */
  private answeredAt = -Infinity;
  private answerTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(url: string, options: WebSocketSignalingOptions = {}) {
    this.url = url;
    this.opts = {
      minBackoffMs: options.minBackoffMs ?? 250,
      maxBackoffMs: options.maxBackoffMs ?? 10_000,
      pingMs: options.pingMs ?? 20_000,
      maxFrameBytes: options.maxFrameBytes ?? 64 * 1024,
      probeTimeoutMs: options.probeTimeoutMs ?? 5_000,
      log: options.log,
      admit: options.admit,
      WebSocket: options.WebSocket,
    };
    this.backoff = this.opts.minBackoffMs;
    this.open();
  }

  /** True while the socket is open and the server relays our publishes (admitted, where it asked). */
  get connected(): boolean {
    return this.ws?.readyState === WS_OPEN && this.phase === 'ready';
  }

  /** True once the server accepted our `kpc-admit` on the current connection (false on servers that never asked). */
  get admitted(): boolean {
    return this.connected && this.nonce !== null;
  }

  readmit(): void {
    if (this.ws?.readyState === WS_OPEN && this.nonce) this.answerChallenge(this.nonce);
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
    clearTimeout(this.probeTimer);
    clearTimeout(this.answerTimer);
    clearInterval(this.pingTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      ws.close();
    }
  }

  /** Publishes go out only when `connected`; subscribe, unsubscribe and ping whenever the socket is open. */
  private sendFrame(frame: { type: string; [k: string]: unknown }): void {
    if (frame.type === 'publish' ? this.connected : this.ws?.readyState === WS_OPEN) this.ws!.send(JSON.stringify(frame));
  }

  private open(): void {
    if (this.closed) return;
    let ws: WebSocketLike;
    try {
      const Ctor = this.opts.WebSocket ?? (globalThis.WebSocket as unknown as WebSocketConstructor | undefined);
      if (!Ctor) throw new KpcError('CONFIG_INVALID', 'no WebSocket in this environment: pass options.WebSocket');
      ws = new Ctor(this.url);
    } catch (err) {
      this.opts.log?.('signaling url rejected', { url: this.url, error: String(err) });
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.phase = 'probing';
    this.nonce = null;
    ws.onopen = () => {
      this.backoff = this.opts.minBackoffMs;
      if (this.topics.size > 0) ws.send(JSON.stringify({ type: 'subscribe', topics: [...this.topics] }));
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.sendFrame({ type: 'ping' }), this.opts.pingMs);
      if (!this.opts.admit) {
        this.becomeReady();
        return;
      }
      // A server that asks for admission sends its challenge before anything else, so
      // whichever of challenge and pong comes first tells which kind of server this is.
      ws.send('{"type":"ping"}');
      clearTimeout(this.probeTimer);
      this.probeTimer = setTimeout(() => {
        if (this.ws === ws && this.phase === 'probing') this.becomeReady();
      }, this.opts.probeTimeoutMs);
    };
    ws.onmessage = (ev) => {
      if (this.ws === ws) this.receive(ev.data);
    };
    ws.onclose = () => {
      clearInterval(this.pingTimer);
      clearTimeout(this.probeTimer);
      clearTimeout(this.answerTimer);
      this.answerTimer = undefined;
      if (this.ws === ws) this.ws = null;
      this.phase = 'probing';
      this.nonce = null;
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

  private becomeReady(): void {
    clearTimeout(this.probeTimer);
    if (this.phase === 'ready') return;
    this.phase = 'ready';
    this.onStatus?.(true);
  }

  /** The server stopped relaying for us (challenge after a lapse, or before the first admit). */
  private becomeChallenged(): void {
    clearTimeout(this.probeTimer);
    const was = this.phase;
    this.phase = 'challenged';
    if (was === 'ready') this.onStatus?.(false);
  }

  /**
   * Answers a server's challenge at most once per {@link CHALLENGE_ANSWER_INTERVAL_MS}
   * (later ones are deferred, not dropped): each answer is a signature, and a hostile
   * server must not be able to make us sign in a loop.
   */
  private onChallenge(): void {
    if (this.answerTimer !== undefined) return;
    const wait = this.answeredAt + CHALLENGE_ANSWER_INTERVAL_MS - Date.now();
    if (wait <= 0) {
      this.answeredAt = Date.now();
      if (this.nonce) this.answerChallenge(this.nonce);
      return;
    }
    this.answerTimer = setTimeout(() => {
      this.answerTimer = undefined;
      this.onChallenge();
    }, wait);
  }

  private answerChallenge(nonce: Uint8Array): void {
    const hook = this.opts.admit;
    if (!hook) {
      this.opts.log?.('signaling server requires proof-of-π admission and no admit hook is configured', { url: this.url });
      return;
    }
    let answer: SignalingAdmit | undefined;
    try {
      answer = hook(nonce, this.url);
    } catch (err) {
      this.opts.log?.('signaling admit hook failed', { url: this.url, error: String(err) });
      return;
    }
    if (!answer) return; // no proof yet: readmit() once there is one
    this.ws?.send(JSON.stringify({ type: 'kpc-admit', key: toBase64(answer.key), proof: answer.proof, sig: toBase64(answer.signature), url: this.url }));
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
    if (delivery) {
      if (this.topics.has(delivery.topic)) this.onDelivery?.(delivery);
      return;
    }
    if (typeof frame !== 'object' || frame === null) return;
    const f = frame as { type?: unknown; nonce?: unknown; code?: unknown; message?: unknown };
    switch (f.type) {
      case 'kpc-challenge': {
        const nonce = decodeNonce(f.nonce);
        if (!nonce) {
          this.opts.log?.('signaling challenge dropped: nonce is not base64 of 32 bytes', { url: this.url });
          return;
        }
        this.nonce = nonce;
        this.becomeChallenged();
        this.onChallenge();
        return;
      }
      case 'kpc-admitted':
        if (this.nonce) this.becomeReady();
        return;
      case 'pong':
        if (this.phase === 'probing') this.becomeReady();
        return;
      case 'error':
        this.opts.log?.('signaling server refused a frame', {
          url: this.url,
          code: typeof f.code === 'string' ? f.code.slice(0, 64) : undefined,
          message: typeof f.message === 'string' ? f.message.slice(0, 256) : undefined,
        });
    }
  }
}

function decodeNonce(v: unknown): Uint8Array | null {
  if (typeof v !== 'string' || v.length !== 44) return null;
  try {
    const b = fromBase64(v);
    return b.length === SIGNALING_NONCE_BYTES ? b : null;
  } catch {
    return null;
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

/**
 * Builds the channel for a URL: `ws:`/`wss:` → WebSocket, `local:<name>` → BroadcastChannel
 * (which takes no options: no server, no admission).
 */
export function createSignaling(url: string, options?: WebSocketSignalingOptions): SignalingChannel {
  if (url.startsWith('local:')) return new BroadcastSignaling(url);
  if (url.startsWith('ws:') || url.startsWith('wss:')) return new WebSocketSignaling(url, options);
  throw new KpcError('CONFIG_INVALID', `unsupported signaling URL ${url}: use ws:, wss: or local:<name>`, { url });
}
