// The miner endpoint's counts reach /metrics: a socket that sends garbage for its hello is refused, and
// shows as a refused handshake and a bad frame.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type GatewayHarness, startGatewayHarness } from '../testing/gateway-harness.ts';

let h: GatewayHarness;

beforeAll(async () => {
  h = await startGatewayHarness();
  await h.peer(0);
});

afterAll(async () => {
  await h?.close();
});

/** Opens a miner socket, sends `frame`, and resolves with the router's answer once it closes. */
function sendHello(frame: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(h.wsUrl);
    let answer: unknown;
    socket.on('open', () => socket.send(frame));
    socket.on('message', (data) => {
      answer = JSON.parse(data.toString());
    });
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe('miner endpoint metrics', () => {
  it('count handshakes under way and refused by code, and bad frames', async () => {
    expect(await sendHello('not json')).toMatchObject({ type: 'refused', code: 'protocol_error' });
    const text = await (await fetch(`${h.url}/metrics`)).text();
    expect(text).toMatch(/^neurino_miner_handshakes_in_progress 0$/m);
    expect(text).toMatch(/^neurino_miner_handshakes_refused_total\{code="protocol_error"\} 1$/m);
    expect(text).toMatch(/^neurino_miner_bad_frames_total 1$/m);
    expect(text).toMatch(/^neurino_miner_heartbeat_timeouts_total 0$/m);
    expect(text).toMatch(/^neurino_connected_nodes 1$/m);
  });
});
