/**
 * Connection exhaustion: clients that open connections and never finish their headers cannot
 * lock out /health or real calls, and the bound stays below the process's file limit.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import type { AddressInfo, Socket } from "node:net";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { type App, type AppDeps, createApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { connectionBound, openFileLimit, RESERVED_DESCRIPTORS } from "../src/http/connections.js";
import { createLogger } from "../src/logger.js";
import { INITIALIZE_BODY } from "./helpers.js";

const KEY = "connections-test-key-0123456789";

/** An app in api_key mode (KEY) that logs nothing; `env` adds or overrides variables. */
function appWith(env: Record<string, string>, deps: AppDeps = { fileLimit: undefined }): App {
  const config = loadConfig({
    AUTH_MODE: "api_key",
    AUTH_API_KEYS: KEY,
    LOG_LEVEL: "silent",
    ...env,
  });
  return createApp(config, createLogger(config), deps);
}

/** Starts `app` on a free loopback port and resolves with the port. */
async function listening(app: App): Promise<number> {
  app.server.listen(0, "127.0.0.1");
  await once(app.server, "listening");
  return (app.server.address() as AddressInfo).port;
}

describe("connection bound", () => {
  it("stays below the open-file limit, whatever is configured", () => {
    assert.equal(connectionBound(512, 1024), 512);
    assert.equal(connectionBound(5000, 1024), 1024 - RESERVED_DESCRIPTORS);
    assert.equal(connectionBound(512, undefined), 512);
    assert.equal(connectionBound(512, 10), 1);
  });

  it("gives clients the whole HEADERS_TIMEOUT_MS, even above the one-minute request deadline", async () => {
    const app = appWith({ HEADERS_TIMEOUT_MS: "120000" });
    try {
      assert.equal(app.server.headersTimeout, 120_000);
      assert.ok(
        app.server.requestTimeout >= app.server.headersTimeout,
        "requestTimeout cuts first",
      );
    } finally {
      await app.shutdown();
    }
  });

  it("reads the soft limit from /proc/self/limits", () => {
    const text =
      "Limit  Soft Limit  Hard Limit  Units\nMax open files            1024                 524288               files\n";
    assert.equal(openFileLimit(text), 1024);
    assert.equal(openFileLimit("Max open files  unlimited  unlimited  files\n"), undefined);
  });
});

describe("clients that never finish their headers", () => {
  const LIMIT = 8;
  let app: App;
  let port = 0;
  const idle: Socket[] = [];

  before(async () => {
    // A file limit as low as the bound: the process itself must never run out of descriptors.
    app = appWith({ MAX_CONNECTIONS: String(LIMIT) }, { fileLimit: LIMIT + RESERVED_DESCRIPTORS });
    port = await listening(app);
  });

  after(async () => {
    for (const socket of idle) socket.destroy();
    await app.shutdown();
  });

  it("still answers /health and authenticated calls with 5x the bound held open", async () => {
    for (let i = 0; i < LIMIT * 5; i += 1) {
      const socket = connect(port, "127.0.0.1");
      socket.on("error", () => undefined);
      await once(socket, "connect");
      socket.write("POST /mcp HTTP/1.1\r\nHost: localhost\r\n"); // never finished
      idle.push(socket);
    }
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(health.status, 200);
    const call = await fetch(`http://127.0.0.1:${port}/mcp`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${KEY}`,
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
      },
      body: INITIALIZE_BODY,
    });
    assert.equal(call.status, 200);
    await call.text();
  });
});

describe("when every connection is busy", () => {
  it("refuses a new connection at once instead of queueing it", async () => {
    const app = appWith({ MAX_CONNECTIONS: "2" });
    const port = await listening(app);
    const busy: Socket[] = [];
    try {
      for (let i = 0; i < 2; i += 1) {
        const socket = connect(port, "127.0.0.1");
        socket.on("error", () => undefined);
        await once(socket, "connect");
        // An authenticated request whose body never comes: busy, not idle.
        socket.write(
          `POST /mcp HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${KEY}\r\n` +
            "Content-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n",
        );
        await once(socket, "data"); // "100 Continue": the server is serving it
        busy.push(socket);
      }
      const extra = connect(port, "127.0.0.1");
      extra.on("error", () => undefined);
      extra.write("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n");
      let answered = false;
      extra.on("data", () => {
        answered = true;
      });
      await once(extra, "close");
      assert.equal(answered, false, "the connection over the bound was closed unanswered");
    } finally {
      for (const socket of busy) socket.destroy();
      await app.shutdown();
    }
  });

  it("keeps a pipelining client busy while its second request is in progress", async () => {
    let tick = 0;
    const app = appWith({ MAX_CONNECTIONS: "2" }, { fileLimit: undefined, now: () => ++tick });
    const port = await listening(app);
    const open: Socket[] = [];
    const connectTo = async () => {
      const socket = connect(port, "127.0.0.1");
      socket.on("error", () => undefined);
      open.push(socket);
      await once(socket, "connect");
      return socket;
    };
    const received = (socket: Socket) => {
      let text = "";
      socket.on("data", (chunk: Buffer) => {
        text += chunk.toString("latin1");
      });
      return () => text;
    };
    const until = (what: string, condition: () => boolean) =>
      new Promise<void>((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`timed out: ${what}`)), 20_000);
        const poll = setInterval(() => {
          if (!condition()) return;
          clearTimeout(deadline);
          clearInterval(poll);
          resolve();
        }, 10);
      });
    try {
      const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" });
      // A pipelines a probe and an MCP call whose body it holds back: once the probe's answer
      // is out, A is still serving the call and must not count as idle.
      const pipelined = await connectTo();
      const pipelinedText = received(pipelined);
      pipelined.write(
        "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n" +
          `POST /mcp HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${KEY}\r\n` +
          "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n" +
          "MCP-Protocol-Version: 2025-06-18\r\n" +
          `Content-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
      );
      await until("probe answered and call authenticated", () =>
        pipelinedText().includes("100 Continue"),
      );
      // B: a keep-alive connection, idle after its probe (newer than A's probe answer).
      const keptAlive = await connectTo();
      const keptAliveText = received(keptAlive);
      keptAlive.write("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n");
      await until("B answered", () => keptAliveText().includes("HTTP/1.1 200"));
      // C, over the bound: B (idle) makes room, not A (busy).
      const extra = await connectTo();
      const extraText = received(extra);
      extra.write("GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
      await until("C answered", () => extraText().includes("HTTP/1.1 200"));
      pipelined.write(body);
      await until("A's call answered (or A closed)", () => {
        const answers = pipelinedText().split("HTTP/1.1 200").length - 1;
        return answers >= 2 || pipelined.destroyed || pipelined.readableEnded;
      });
      assert.equal(pipelinedText().split("HTTP/1.1 200").length - 1, 2, pipelinedText());
    } finally {
      for (const socket of open) socket.destroy();
      await app.shutdown();
    }
  });
});
