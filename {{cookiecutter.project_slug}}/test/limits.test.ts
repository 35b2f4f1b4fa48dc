/**
 * The limiter and the watchdog with an injected clock: no wall-clock waits. The floods against
 * the built server are the template's tests/test_limits.py.
 */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { describe, it } from "node:test";
import { loadConfig } from "../src/config.js";
import {
  addressKey,
  createLimiter,
  type LimitReason,
  type LimitSettings,
  type LimitVerdict,
  MAX_TRACKED_KEYS,
} from "../src/http/limits.js";
import { BODY_GRACE_MS, createWatchdog, type WatchdogSettings } from "../src/http/watchdog.js";

const SETTINGS: LimitSettings = {
  requestsPerCaller: 2,
  streamsPerCaller: 1,
  callerRate: { quota: 3, windowSeconds: 60 },
  addressRate: { quota: 2, windowSeconds: 10 },
};

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

function granted(verdict: LimitVerdict) {
  assert.ok(verdict.ok, `refused: ${verdict.ok ? "" : verdict.reason}`);
  return verdict;
}

function refused(verdict: LimitVerdict) {
  assert.ok(!verdict.ok, "granted");
  return verdict;
}

describe("limiter", () => {
  it("caps requests in progress per caller, not across callers, until they are released", () => {
    const time = clock();
    const limiter = createLimiter({ ...SETTINGS, callerRate: undefined }, { now: time.now });
    const first = granted(limiter.admitRequest("alice"));
    granted(limiter.admitRequest("alice"));
    const third = refused(limiter.admitRequest("alice"));
    assert.equal(third.reason, "caller_concurrency");
    assert.equal(third.headers["Retry-After"], "1");
    granted(limiter.admitRequest("bob"));
    first.release();
    first.release(); // idempotent: a second release frees nothing more
    assert.deepEqual(limiter.usage("alice"), { requests: 1, streams: 0 });
    granted(limiter.admitRequest("alice"));
    refused(limiter.admitRequest("alice"));
  });

  it("rate-limits per caller with a token bucket and says when to come back", () => {
    const time = clock();
    const limiter = createLimiter({ ...SETTINGS, requestsPerCaller: 100 }, { now: time.now });
    for (let i = 0; i < 3; i++) granted(limiter.admitRequest("alice")).release();
    const over = refused(limiter.admitRequest("alice"));
    assert.equal(over.reason, "caller_rate");
    // 3 per 60 s: one token every 20 s.
    assert.equal(over.headers["Retry-After"], "20");
    assert.equal(over.headers["RateLimit-Policy"], '"caller";q=3;w=60');
    assert.equal(over.headers.RateLimit, '"caller";r=0;t=60');
    granted(limiter.admitRequest("bob"));
    time.advance(19_000);
    refused(limiter.admitRequest("alice"));
    time.advance(2000);
    granted(limiter.admitRequest("alice"));
  });

  it("never refills past the quota", () => {
    const time = clock();
    const limiter = createLimiter({ ...SETTINGS, requestsPerCaller: 100 }, { now: time.now });
    time.advance(3_600_000);
    for (let i = 0; i < 3; i++) granted(limiter.admitRequest("alice")).release();
    refused(limiter.admitRequest("alice"));
  });

  it("limits client addresses before authentication, IPv6 by /64", () => {
    const time = clock();
    const limiter = createLimiter(SETTINGS, { now: time.now });
    granted(limiter.admitAddress("2001:db8:1:2::1"));
    granted(limiter.admitAddress("2001:db8:1:2:ffff::9"));
    const over = refused(limiter.admitAddress("2001:db8:1:2:aaaa:bbbb:cccc:dddd"));
    assert.equal(over.reason, "address_rate");
    assert.equal(over.headers["RateLimit-Policy"], '"address";q=2;w=10');
    assert.equal(over.headers["Retry-After"], "5");
    granted(limiter.admitAddress("2001:db8:1:3::1"));
    granted(limiter.admitAddress("192.0.2.1"));
    time.advance(6000);
    granted(limiter.admitAddress("2001:db8:1:2::1"));
  });

  it("keys addresses: IPv4 as is, IPv4-mapped as IPv4, IPv6 by its /64", () => {
    assert.equal(addressKey("192.0.2.7"), "192.0.2.7");
    assert.equal(addressKey("::ffff:192.0.2.7"), "192.0.2.7");
    assert.equal(addressKey("2001:db8::1"), "2001:db8:0:0::/64");
    assert.equal(addressKey("2001:0db8:0000:0000:1::"), "2001:db8:0:0::/64");
    assert.equal(addressKey("::1"), "0:0:0:0::/64");
    assert.equal(addressKey(undefined), "unknown");
  });

  it("moves a request slot to a stream slot, capped per caller", () => {
    const limiter = createLimiter(SETTINGS);
    const request = granted(limiter.admitRequest("alice"));
    const stream = granted(limiter.upgradeToStream("alice", request));
    assert.deepEqual(limiter.usage("alice"), { requests: 0, streams: 1 });
    const second = granted(limiter.admitRequest("alice"));
    assert.equal(refused(limiter.upgradeToStream("alice", second)).reason, "caller_streams");
    // The refused upgrade keeps its request slot until the answer is sent.
    assert.deepEqual(limiter.usage("alice"), { requests: 1, streams: 1 });
    second.release();
    stream.release();
    assert.deepEqual(limiter.usage("alice"), { requests: 0, streams: 0 });
  });

  it("reports every refusal through onReject", () => {
    const reasons: LimitReason[] = [];
    const limiter = createLimiter(
      { ...SETTINGS, addressRate: { quota: 1, windowSeconds: 1 } },
      { now: clock().now, onReject: (reason) => reasons.push(reason) },
    );
    limiter.admitAddress("192.0.2.1");
    limiter.admitAddress("192.0.2.1");
    limiter.admitRequest("alice");
    limiter.admitRequest("alice");
    limiter.admitRequest("alice");
    assert.deepEqual(reasons, ["address_rate", "caller_concurrency"]);
  });

  it("forgets idle keys once their buckets are full again, never busy ones", () => {
    const time = clock();
    const limiter = createLimiter(SETTINGS, { now: time.now });
    limiter.admitAddress("192.0.2.1");
    granted(limiter.admitRequest("alice")).release();
    const busy = granted(limiter.admitRequest("bob"));
    limiter.prune();
    assert.deepEqual(limiter.size(), { callers: 2, addresses: 1 });
    time.advance(60_000);
    limiter.prune();
    assert.deepEqual(limiter.size(), { callers: 1, addresses: 0 });
    busy.release();
    limiter.prune();
    assert.deepEqual(limiter.size(), { callers: 0, addresses: 0 });
  });

  it("tracks a bounded number of keys: a client spraying addresses shares one bucket", () => {
    const limiter = createLimiter({ ...SETTINGS, addressRate: { quota: 1, windowSeconds: 60 } });
    for (let i = 0; i < MAX_TRACKED_KEYS; i++)
      limiter.admitAddress(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
    granted(limiter.admitAddress("192.0.2.1"));
    refused(limiter.admitAddress("192.0.2.2"));
    assert.equal(limiter.size().addresses, MAX_TRACKED_KEYS + 1);
  });
});

const WATCH: WatchdogSettings = {
  bodyTimeoutMs: 10_000,
  bodyMinBytesPerSecond: 1000,
  writeTimeoutMs: 5000,
  streamLifetimeMs: 60_000,
};

/** The parts of a socket the watchdog reads, settable by the test. */
function fakeSocket() {
  const socket = Object.assign(new EventEmitter(), {
    bytesRead: 0,
    bytesWritten: 0,
    writableLength: 0,
    destroyed: false,
    resetAndDestroy() {
      socket.destroyed = true;
    },
  });
  return socket;
}

function fakeRequest(contentLength: number) {
  const socket = fakeSocket();
  const req = { socket, headers: { "content-length": String(contentLength) } };
  return { socket, req: req as unknown as IncomingMessage };
}

function fakeResponse() {
  const res = Object.assign(new EventEmitter(), {
    destroyed: false,
    destroy() {
      res.destroyed = true;
    },
  });
  return res;
}

describe("watchdog", () => {
  function watchdogWith(sockets: Socket[] = [], settings: WatchdogSettings = WATCH) {
    const time = clock();
    const cut: string[] = [];
    const timedOut: IncomingMessage[] = [];
    const watchdog = createWatchdog(settings, {
      now: time.now,
      sockets: () => sockets,
      onReject: (reason) => cut.push(reason),
      onBodyTimeout: (req) => timedOut.push(req),
    });
    return { time, cut, timedOut, watchdog };
  }

  it("cuts a body that trickles slower than the minimum rate after the grace period", () => {
    const { time, timedOut, watchdog } = watchdogWith();
    const { socket, req } = fakeRequest(100_000);
    watchdog.bodyStarted(req, fakeResponse() as unknown as ServerResponse);
    time.advance(BODY_GRACE_MS);
    socket.bytesRead = 10;
    watchdog.sweep();
    assert.equal(timedOut.length, 0, "within the grace period");
    time.advance(1000);
    socket.bytesRead = 1500; // 1000 B/s expected after the grace: on pace
    watchdog.sweep();
    assert.equal(timedOut.length, 0);
    time.advance(1000);
    socket.bytesRead = 1600; // 2000 expected by now
    watchdog.sweep();
    assert.deepEqual(timedOut, [req]);
  });

  it("lets a small body finish slowly up to its declared length, then the deadline applies", () => {
    const { time, timedOut, watchdog } = watchdogWith();
    const { socket, req } = fakeRequest(100);
    watchdog.bodyStarted(req, fakeResponse() as unknown as ServerResponse);
    socket.bytesRead = 100;
    time.advance(9_999);
    watchdog.sweep();
    assert.equal(timedOut.length, 0);
    time.advance(1);
    watchdog.sweep();
    assert.equal(timedOut.length, 1, "the body deadline");
  });

  it("stops watching a body once it is read", () => {
    const { time, timedOut, watchdog } = watchdogWith();
    const { req } = fakeRequest(100_000);
    watchdog.bodyStarted(req, fakeResponse() as unknown as ServerResponse);
    watchdog.bodyDone(req);
    time.advance(60_000);
    watchdog.sweep();
    assert.equal(timedOut.length, 0);
  });

  it("resets a connection whose pending answer makes no progress for the write timeout", () => {
    const stalled = fakeSocket();
    const reading = fakeSocket();
    const idle = fakeSocket();
    const sockets = [stalled, reading, idle] as unknown as Socket[];
    const { time, cut, watchdog } = watchdogWith(sockets);
    stalled.writableLength = 50_000;
    reading.writableLength = 50_000;
    watchdog.sweep();
    for (let second = 1; second <= 5; second++) {
      time.advance(1000);
      reading.bytesWritten += 10_000; // slow, but reading
      watchdog.sweep();
    }
    assert.equal(stalled.destroyed, true);
    assert.equal(reading.destroyed, false);
    assert.equal(idle.destroyed, false);
    assert.deepEqual(cut, ["write_timeout"]);
  });

  it("closes a stream at its lifetime", () => {
    const { time, cut, watchdog } = watchdogWith();
    const early = fakeResponse();
    watchdog.streamStarted(early as unknown as ServerResponse);
    time.advance(30_000);
    const late = fakeResponse();
    watchdog.streamStarted(late as unknown as ServerResponse);
    time.advance(30_000);
    watchdog.sweep();
    assert.equal(early.destroyed, true);
    assert.equal(late.destroyed, false);
    assert.deepEqual(cut, ["stream_lifetime"]);
  });
});

describe("limit settings", () => {
  const base = { AUTH_MODE: "api_key", AUTH_API_KEYS: "limits-test-key-0123456789" };

  it("has defaults that hold one credential to a small share of a replica", () => {
    const { limits, probePort, probeMaxConnections } = loadConfig(base);
    assert.equal(limits.requestsPerCaller, 32);
    assert.equal(limits.streamsPerCaller, 4);
    assert.deepEqual(limits.callerRate, { quota: 3000, windowSeconds: 60 });
    assert.deepEqual(limits.addressRate, { quota: 6000, windowSeconds: 60 });
    assert.equal(limits.bodyTimeoutMs, 10_000);
    assert.equal(limits.writeTimeoutMs, 15_000);
    assert.equal(probePort, undefined);
    assert.equal(probeMaxConnections, 16);
  });

  it("turns a rate limit off with 0", () => {
    const { limits } = loadConfig({
      ...base,
      RATE_LIMIT_PER_CALLER: "0",
      RATE_LIMIT_PER_ADDRESS: "0",
    });
    assert.equal(limits.callerRate, undefined);
    assert.equal(limits.addressRate, undefined);
  });

  for (const [variable, value] of [
    ["MAX_REQUESTS_PER_CALLER", "0"],
    ["MAX_STREAMS_PER_CALLER", "many"],
    ["RATE_LIMIT_PER_CALLER", "-1"],
    ["RATE_LIMIT_WINDOW_SECONDS", "0"],
    ["BODY_TIMEOUT_MS", "5s"],
    ["WRITE_TIMEOUT_MS", "10"],
    ["STREAM_LIFETIME_MS", "1.5"],
    ["PROBE_PORT", "70000"],
    ["PROBE_MAX_CONNECTIONS", "0"],
  ] as const) {
    it(`refuses ${variable}=${value}, naming the variable`, () => {
      assert.throws(() => loadConfig({ ...base, [variable]: value }), new RegExp(`${variable}: `));
    });
  }

  it("refuses a PROBE_PORT equal to PORT", () => {
    assert.throws(
      () => loadConfig({ ...base, PORT: "8123", PROBE_PORT: "8123" }),
      /PROBE_PORT: must differ from PORT/,
    );
  });
});
