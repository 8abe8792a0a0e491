/**
 * A simulated y-webrtc signaling server and its clients ({@link SignalingChannel}s).
 *
 * The model is y-webrtc's publish/subscribe: a client subscribes to topics; a
 * publish reaches every subscriber of the topic, the sender included. Frames travel
 * client → server → subscribers with the signaling latency, FIFO per direction (a
 * WebSocket is one TCP stream). A server can be taken down and brought back; a
 * client that loses it reconnects with jittered exponential back-off (250 ms up to
 * 10 s, like {@link WebSocketSignaling}), re-subscribes and reports `connected` again.
 */
import type { SignalingChannel, SignalingDelivery } from '../mesh/signaling.js';
import type { Endpoint, SimNetwork } from './network.js';
import type { SimEvent } from './scheduler.js';

type Frame = { type: 'subscribe'; topics: string[] } | { type: 'publish'; topic: string; data: unknown; attack: string | null };

const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 10_000;

function sizeOf(data: unknown): number {
  if (typeof data === 'string') return data.length;
  try {
    return JSON.stringify(data)?.length ?? 0;
  } catch {
    return 0;
  }
}

/** One simulated signaling server (a URL). */
export class SimSignalingServer {
  private isUp = true;
  private readonly subs = new Map<string, Set<SimSignalingChannel>>();
  /** Frames relayed to subscribers so far. */
  relayedFrames = 0;

  constructor(
    private readonly net: SimNetwork,
    /** The URL nodes are configured with. */
    readonly url: string,
  ) {}

  /** Whether the server accepts connections. */
  get up(): boolean {
    return this.isUp;
  }

  /** A new client channel for the current life of `ep` (what `createSignaling(url)` returns). */
  connect(ep: Endpoint): SimSignalingChannel {
    return new SimSignalingChannel(this, this.net, ep, ep.life);
  }

  /** Takes the server down (every client is disconnected) or brings it back. */
  setUp(up: boolean): void {
    if (up === this.isUp) return;
    this.isUp = up;
    if (up) return;
    const clients = new Set<SimSignalingChannel>();
    for (const set of this.subs.values()) set.forEach((c) => clients.add(c));
    this.subs.clear();
    for (const c of clients) c.lose();
  }

  /** Disconnects the clients of nodes that no longer reach signaling (after a partition). */
  enforceReachability(): void {
    const lost = new Set<SimSignalingChannel>();
    for (const set of this.subs.values()) for (const c of set) if (!this.net.reachesSignaling(c.ep.nodeId)) lost.add(c);
    for (const c of lost) c.lose();
  }

  /** Publishes raw `data` (any JSON value) to `topic` as byzantine node `ep`, after one uplink delay. */
  inject(ep: Endpoint, topic: string, data: unknown, attack: string): void {
    if (!ep.up || !this.net.reachesSignaling(ep.nodeId)) return;
    ep.traffic.sigFramesOut++;
    ep.traffic.sigBytesOut += sizeOf(data);
    this.net.sched.after(this.net.cfg.signalingLatency(this.net.rng), () => {
      this.route(topic, data, attack);
    }, -1, 'sig-up');
  }

  /** @internal A client's frame reached the server. */
  receive(client: SimSignalingChannel, frame: Frame): void {
    if (!this.isUp || !client.connected) return;
    if (frame.type === 'subscribe') {
      for (const t of frame.topics) {
        let set = this.subs.get(t);
        if (!set) this.subs.set(t, (set = new Set()));
        set.add(client);
      }
    } else {
      this.route(frame.topic, frame.data, frame.attack);
    }
  }

  /** @internal Forgets a client (closed, crashed or cut off). */
  detach(client: SimSignalingChannel): void {
    for (const set of this.subs.values()) set.delete(client);
  }

  private route(topic: string, data: unknown, attack: string | null): void {
    if (!this.isUp) return;
    // The payload is hashed once per publish; each delivery adds only who got it (see SimSignalingChannel.deliver).
    this.net.sched.digest.str(topic);
    if (typeof data === 'string') this.net.sched.digest.tail(data);
    this.net.observer.relayed?.(topic, data, attack);
    const set = this.subs.get(topic);
    if (!set) return;
    for (const c of set) {
      this.relayedFrames++;
      c.enqueue(topic, data, attack);
    }
  }
}

/** A node's client of one {@link SimSignalingServer}. */
export class SimSignalingChannel implements SignalingChannel {
  readonly url: string;
  onDelivery: ((d: SignalingDelivery) => void) | null = null;
  onStatus: ((connected: boolean) => void) | null = null;
  private isConnected = false;
  private closed = false;
  private readonly topics = new Set<string>();
  private backoff = MIN_BACKOFF_MS;
  private retry: SimEvent | null = null;
  private upFifo = 0;
  private downFifo = 0;

  constructor(
    private readonly server: SimSignalingServer,
    private readonly net: SimNetwork,
    /** The node's endpoint. */
    readonly ep: Endpoint,
    private readonly life: number,
  ) {
    this.url = server.url;
    this.retry = net.sched.after(0, () => this.attempt(), ep.index, 'sig-dial');
  }

  get connected(): boolean {
    return this.isConnected && this.alive;
  }

  subscribe(topics: readonly string[]): void {
    const fresh = topics.filter((t) => !this.topics.has(t));
    fresh.forEach((t) => this.topics.add(t));
    if (fresh.length > 0 && this.connected) this.send({ type: 'subscribe', topics: fresh });
  }

  publish(topic: string, data: string): void {
    if (!this.connected) return;
    this.ep.traffic.sigFramesOut++;
    this.ep.traffic.sigBytesOut += sizeOf(data);
    this.send({ type: 'publish', topic, data, attack: null });
  }

  close(): void {
    this.closed = true;
    this.isConnected = false;
    this.net.sched.cancel(this.retry);
    this.server.detach(this);
  }

  /** @internal The connection dropped (server down, path cut, crash): report it and start redialling. */
  lose(): void {
    this.server.detach(this);
    if (!this.isConnected) return;
    this.isConnected = false;
    if (!this.alive) return;
    this.onStatus?.(false);
    this.scheduleRetry();
  }

  /** @internal A frame for this client left the server. */
  enqueue(topic: string, data: unknown, attack: string | null): void {
    const net = this.net;
    let t = net.sched.now + net.cfg.signalingLatency(net.rng);
    if (net.rng.chance(net.cfg.reorder)) t += net.rng.exp(net.cfg.reorderMeanMs);
    else t = this.downFifo = Math.max(t, this.downFifo);
    const copies = net.rng.chance(net.cfg.duplicate) ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      net.sched.at(t + c * net.cfg.signalingLatency(net.rng), () => this.deliver(topic, data, attack), this.ep.index, 'sig');
    }
  }

  private get alive(): boolean {
    return !this.closed && this.ep.up && this.ep.life === this.life;
  }

  private deliver(topic: string, data: unknown, attack: string | null) {
    if (!this.connected || !this.topics.has(topic)) return;
    this.ep.traffic.sigFramesIn++;
    this.ep.traffic.sigBytesIn += sizeOf(data);
    this.net.sched.digest.word(this.ep.index).word(sizeOf(data));
    const check = attack ? this.net.observer.byzantineDelivery?.(this.ep.index, attack) : undefined;
    this.onDelivery?.({ topic, data, source: this.url });
    return check;
  }

  private send(frame: Frame): void {
    const net = this.net;
    const t = (this.upFifo = Math.max(net.sched.now + net.cfg.signalingLatency(net.rng), this.upFifo));
    net.sched.at(t, () => this.server.receive(this, frame), this.ep.index, 'sig-up');
  }

  private attempt(): void {
    this.retry = null;
    if (!this.alive || this.isConnected) return;
    if (!this.server.up || !this.net.reachesSignaling(this.ep.nodeId)) return this.scheduleRetry();
    // TCP + WebSocket upgrade: two round trips.
    const lat = () => this.net.cfg.signalingLatency(this.net.rng);
    this.retry = this.net.sched.after(lat() + lat() + lat() + lat(), () => {
      this.retry = null;
      if (!this.alive || this.isConnected) return;
      if (!this.server.up || !this.net.reachesSignaling(this.ep.nodeId)) return this.scheduleRetry();
      this.isConnected = true;
      this.backoff = MIN_BACKOFF_MS;
      this.upFifo = this.downFifo = this.net.sched.now;
      if (this.topics.size > 0) this.server.receive(this, { type: 'subscribe', topics: [...this.topics] });
      this.onStatus?.(true);
    }, this.ep.index, 'sig-open');
  }

  private scheduleRetry(): void {
    if (!this.alive) return;
    const delay = this.backoff * (0.75 + this.net.rng.next() * 0.5);
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
    this.retry = this.net.sched.after(delay, () => this.attempt(), this.ep.index, 'sig-dial');
  }
}
