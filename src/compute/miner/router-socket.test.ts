import { describe, expect, it } from 'vitest';
import { routerEndpoint } from './router-socket.ts';

describe('routerEndpoint', () => {
  it('adds the miner path to a bare host', () => {
    expect(routerEndpoint('ws://127.0.0.1:8080')).toBe('ws://127.0.0.1:8080/v1/miners');
    expect(routerEndpoint('ws://127.0.0.1:8080/')).toBe('ws://127.0.0.1:8080/v1/miners');
  });

  it('keeps an explicit path', () => {
    expect(routerEndpoint('wss://router.example/custom/miners')).toBe('wss://router.example/custom/miners');
  });

  it('turns http(s) into ws(s)', () => {
    expect(routerEndpoint('http://localhost:8080')).toBe('ws://localhost:8080/v1/miners');
    expect(routerEndpoint('https://router.example')).toBe('wss://router.example/v1/miners');
  });

  it('refuses other schemes and non-URLs', () => {
    expect(() => routerEndpoint('ftp://router.example')).toThrow(TypeError);
    expect(() => routerEndpoint('router.example:8080')).toThrow(TypeError);
    expect(() => routerEndpoint('')).toThrow(TypeError);
  });
});
