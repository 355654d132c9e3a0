// Deltas travel as bytes over a real RTCDataChannel: two stores in one page,
// each behind its own RTCPeerConnection (host candidates), edit concurrently
// and exchange deltas until both save() the same bytes. The sync protocol
// proper comes later; this proves the engine's bytes survive the channel.
import { open } from '/dist/index.js';
import { bytesEqual, eq, ok } from '../page/assert.js';
import { actor, clock, todoSchema } from '../page/fixtures.js';
import { test } from '../page/harness.js';

async function channelPair() {
  const p1 = new RTCPeerConnection();
  const p2 = new RTCPeerConnection();
  p1.onicecandidate = (e) => e.candidate && p2.addIceCandidate(e.candidate);
  p2.onicecandidate = (e) => e.candidate && p1.addIceCandidate(e.candidate);
  const c1 = p1.createDataChannel('deltas', { ordered: true });
  const c2 = new Promise((resolve) => (p2.ondatachannel = (e) => resolve(e.channel)));
  await p1.setLocalDescription(await p1.createOffer());
  await p2.setRemoteDescription(p1.localDescription);
  await p2.setLocalDescription(await p2.createAnswer());
  await p1.setRemoteDescription(p2.localDescription);
  const ch2 = await c2;
  const openOf = (c) => (c.readyState === 'open' ? Promise.resolve() : new Promise((r) => c.addEventListener('open', r, { once: true })));
  await Promise.race([
    Promise.all([openOf(c1), openOf(ch2)]),
    new Promise((_, reject) => setTimeout(() => reject(new Error('data channel did not open in 20 s')), 20_000)),
  ]);
  for (const c of [c1, ch2]) c.binaryType = 'arraybuffer';
  return { c1, c2: ch2, close: () => (p1.close(), p2.close()) };
}

function receiver(channel, store) {
  const outcomes = [];
  let waiting = null;
  channel.onmessage = (e) => {
    outcomes.push(store.applyDelta(new Uint8Array(e.data)));
    if (waiting) waiting();
  };
  return {
    outcomes,
    next: () => new Promise((r) => (waiting = r)),
  };
}

test('two stores converge over an RTCDataChannel', async () => {
  const { c1, c2, close } = await channelPair();
  try {
    const a = await open({ schema: todoSchema, actor: actor(1), now: clock() });
    const b = await open({ schema: todoSchema, actor: actor(2), now: clock(1_700_000_000_100) });
    const atB = receiver(c2, b);
    const atA = receiver(c1, a);
    const todos = a.collection('todos');
    for (let i = 0; i < 300; i++) todos.insert({ id: `t${i}`, title: `todo ${i} `.repeat(8), votes: i, tags: ['x'] });
    const first = a.deltaSince(b.version());
    ok(first.length > 1024 && (first[4] & 1) === 1, 'a compressed delta crosses the channel');
    let arrived = atB.next();
    c1.send(first);
    await arrived;
    eq(atB.outcomes, ['applied']);
    eq(b.collection('todos').size, 300);
    // Concurrent edits on both sides, exchanged both ways at once.
    a.collection('todos').update('t7', (r) => r.set('owner', 'ann').increment('votes', 1));
    b.collection('todos').update('t7', (r) => r.set('owner', 'bob').increment('votes', 2).remove('tags', 'x'));
    const toA = atA.next();
    const toB = atB.next();
    c1.send(a.deltaSince(b.version()));
    c2.send(b.deltaSince(a.version()));
    await Promise.all([toA, toB]);
    ok(bytesEqual(a.save(), b.save()), 'same snapshot bytes on both sides');
    eq(a.collection('todos').get('t7'), b.collection('todos').get('t7'));
    eq(a.collection('todos').get('t7').owner, ['ann', 'bob']);
    eq(a.collection('todos').get('t7').votes, 10);
  } finally {
    close();
  }
}, { needs: ['webrtc'] });
