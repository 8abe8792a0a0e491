// Small, fast run of the signaling load bench (bench/signaling-load.mjs): every client
// must be held and every delivery must arrive. No timing assertions: the figure itself is
// the bench's job, and shared CI machines make latency meaningless here.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runSignalingLoad } from '../../bench/signaling-load.mjs';

describe('signaling load bench', () => {
  it('holds 60 clients over 3 topics for 2 s and delivers every publish to every subscriber', { timeout: 30_000 }, async () => {
    const r = await runSignalingLoad({ clients: 60, topics: 3, seconds: 2, batch: 20, timeoutMs: 25_000 });
    assert.equal(r.timed_out, null);
    assert.equal(r.clients_held, 60);
    assert.equal(r.closed_early, 0);
    assert.deepEqual(r.connect_errors, {});
    assert.deepEqual(r.error_frames, {});
    assert.ok(r.publishes > 0, 'some publishes were sent');
    // Rooms of 20, the sender included (y-webrtc semantics).
    assert.equal(r.deliveries_expected, r.publishes * 20);
    assert.equal(r.deliveries, r.deliveries_expected);
    assert.equal(r.duplicates, 0);
    assert.equal(r.misrouted, 0);
    assert.equal(r.wrong_clients_field, 0);
    assert.equal(r.ok, true);
    // The server saw the same traffic (plus one probe publish per topic) and was stopped.
    assert.ok(r.server);
    assert.equal(r.server.messagesRelayed, r.publishes + 3);
    assert.equal(r.server.badFrames, 0);
    assert.equal(r.server.rejectedConnections, 0);
  });
});
