/**
 * The header parsers and the Host/Origin and framing guards are pure functions: every rule
 * tested without a server.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  absoluteFormAuthority,
  checkHost,
  checkHostFraming,
  checkOrigin,
  hostParses,
  originForm,
  pathOf,
} from "../src/http/headers.js";
import { allowedMethods, matchRoute, type Route } from "../src/http/routes.js";

const ALLOWED = ["localhost", "127.0.0.1", "[::1]", "mcp.example.com"];

describe("Host framing", () => {
  it("accepts one well-formed Host header, or none", () => {
    assert.ok(checkHostFraming(["Host", "localhost:8080"]).ok);
    assert.ok(checkHostFraming(["Host", "[::1]:8080"]).ok);
    assert.ok(checkHostFraming(["Accept", "*/*"]).ok);
  });

  it("refuses a repeated Host header with 400", () => {
    const verdict = checkHostFraming(["Host", "localhost", "host", "evil.example"]);
    assert.deepEqual(verdict, { ok: false, status: 400, reason: "more than one Host header" });
  });

  it("refuses userinfo, a path, a backslash or a bad port in Host with 400", () => {
    for (const host of [
      "user@localhost",
      "localhost/mcp",
      "localhost\\evil",
      "localhost:99999",
      "local host",
      "http://localhost",
    ]) {
      const verdict = checkHostFraming(["Host", host]);
      assert.equal(verdict.ok, false, host);
      if (!verdict.ok) assert.equal(verdict.status, 400, host);
    }
  });
});

describe("Hosts the URL parser refuses", () => {
  // host[:port] in shape, but no URL can be built from them (the SDK's adapter answered 500).
  for (const host of ["999.1.1.1", "1.2.3.4.5", "[1::2::3]", "[1.2.3.4]", "4294967296"]) {
    it(`refuses ${host} as a Host, and as the authority of an absolute-form target`, () => {
      assert.equal(hostParses(host), false);
      const framing = checkHostFraming(["Host", host]);
      assert.ok(!framing.ok && framing.status === 400);
      assert.equal(absoluteFormAuthority(`http://${host}/mcp`), null);
    });
  }

  it("accepts ordinary names and addresses", () => {
    for (const host of ["localhost:8080", "mcp.example.com", "10.1.2.3:9999", "[::1]:8080"]) {
      assert.equal(hostParses(host), true, host);
    }
  });
});

describe("absolute-form request targets", () => {
  it("are served as their origin-form (path and query)", () => {
    assert.equal(originForm("http://mcp.example.com/mcp"), "/mcp");
    assert.equal(originForm("HTTP://mcp.example.com:8080/mcp?x=1"), "/mcp?x=1");
    assert.equal(originForm("/mcp?x=1"), "/mcp?x=1");
    assert.equal(originForm("http://[/mcp"), undefined);
  });
});

describe("Host allow-list (DNS rebinding)", () => {
  it("allows listed hosts on any port, case-insensitively", () => {
    assert.ok(checkHost("LOCALHOST:1234", "/mcp", ALLOWED).ok);
    assert.ok(checkHost("mcp.example.com", "/mcp", ALLOWED).ok);
    assert.ok(checkHost("anything.example", "/mcp", ["*"]).ok);
  });

  it("refuses other hosts with 403 and a missing or malformed Host with 400", () => {
    assert.deepEqual(checkHost("evil.example", "/mcp", ALLOWED), {
      ok: false,
      status: 403,
      reason: "Host not allowed",
    });
    assert.equal((checkHost(undefined, "/mcp", ALLOWED) as { status: number }).status, 400);
    assert.equal((checkHost("a@localhost", "/mcp", ALLOWED) as { status: number }).status, 400);
  });

  it("checks an absolute-form request target against the same list", () => {
    assert.ok(checkHost("localhost", "http://localhost:8080/mcp", ALLOWED).ok);
    const foreign = checkHost("localhost", "http://evil.example/mcp", ALLOWED);
    assert.equal(foreign.ok, false);
    assert.equal((foreign as { status: number }).status, 403);
    const userinfo = checkHost("localhost", "http://x@localhost/mcp", ALLOWED);
    assert.equal((userinfo as { status: number }).status, 400);
  });

  it("reads the authority of absolute-form targets only", () => {
    assert.equal(absoluteFormAuthority("/mcp"), undefined);
    assert.equal(absoluteFormAuthority("http://Example.com:80/mcp"), "example.com");
    assert.equal(absoluteFormAuthority("ftp://example.com/mcp"), null);
  });
});

describe("Origin", () => {
  const origins = ["http://localhost:8080", "https://app.example"];

  it("lets requests without Origin through (non-browser clients)", () => {
    assert.deepEqual(checkOrigin(undefined, origins), { ok: true });
  });

  it("allows exactly the listed origins and echoes the serialized origin", () => {
    assert.deepEqual(checkOrigin("https://app.example", origins), {
      ok: true,
      origin: "https://app.example",
    });
    for (const origin of ["http://localhost:9999", "https://evil.example", "null", "not a url"]) {
      assert.equal(checkOrigin(origin, origins).ok, false, origin);
    }
    assert.ok(checkOrigin("https://evil.example", ["*"]).ok);
  });
});

describe("request targets and the route table", () => {
  it("reads the path of origin- and absolute-form targets, refuses network-path ones", () => {
    assert.equal(pathOf("/mcp?x=1"), "/mcp");
    assert.equal(pathOf("http://localhost/health"), "/health");
    assert.equal(pathOf("//evil.example/mcp"), undefined);
    assert.equal(pathOf("http://[/mcp"), undefined);
  });

  it("answers 405 with Allow from the table, HEAD wherever GET is", () => {
    const handler = () => undefined;
    const route: Route = { methods: { GET: handler, OPTIONS: handler } };
    const table = new Map([["/x", route]]);
    assert.deepEqual(allowedMethods(route), ["GET", "HEAD", "OPTIONS"]);
    assert.equal(matchRoute(table, "/x", "HEAD").kind, "found");
    assert.deepEqual(matchRoute(table, "/x", "DELETE"), {
      kind: "method_not_allowed",
      route,
      allow: "GET, HEAD, OPTIONS",
    });
    assert.equal(matchRoute(table, "/y", "GET").kind, "not_found");
  });
});
