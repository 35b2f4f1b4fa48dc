/**
 * POST /mcp, served by the SDK's public stateless request handler: `createMcpHandler` from
 * @modelcontextprotocol/server, its web-standard face adapted to node:http for an already parsed
 * body (node-adapter.ts).
 *
 * One handler serves both eras on the same endpoint, statelessly:
 *   - 2026-07-28 (no initialize handshake; every request carries its protocol version), and
 *   - the handshake-era revisions 2025-11-25, 2025-06-18 and 2025-03-26 (`legacy: "stateless"`:
 *     each request answered by a fresh server over a sessionless transport).
 * Every request gets a fresh McpServer from the same factory, so any replica answers any request
 * and both eras see the same tools (a `tools/call` gets one holding just the tool it names:
 * see server.ts). A revision the SDK does not serve gets the protocol's own
 * "unsupported protocol version" error from the SDK, never a 500.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type AuthInfo, createMcpHandler, type McpServer } from "@modelcontextprotocol/server";
import type { Identity } from "../auth/types.js";
import type { Logger } from "../logger.js";
import { observeMcpRequest } from "../telemetry/index.js";
import { serveParsed } from "./node-adapter.js";
import { createMcpServer, type RequestFocus } from "./server.js";

/** Serves one authenticated, already-read MCP request. */
type McpRequestHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  identity: Identity,
  body: unknown,
) => Promise<void>;

export interface McpHandler {
  readonly handle: McpRequestHandler;
  close(): Promise<void>;
}

type McpServerFactory = (identity: Identity, logger: Logger, focus?: RequestFocus) => McpServer;

const ANONYMOUS: Identity = { subject: "anonymous", scopes: [], method: "none" };

/**
 * The identity travels to the factory as the SDK's pass-through `authInfo`, without the token:
 * the SDK never reads credentials from headers, and ours are removed before this point.
 */
function authInfoOf(identity: Identity, focus: RequestFocus): AuthInfo {
  return {
    token: "",
    clientId: identity.clientId ?? identity.subject,
    scopes: [...identity.scopes],
    extra: { identity, focus },
  };
}

function identityOf(authInfo: AuthInfo | undefined): Identity {
  const identity = authInfo?.extra?.identity as Identity | undefined;
  return identity ?? ANONYMOUS;
}

const EVERYTHING: RequestFocus = {};

/** What this request can reach: one `tools/call` reaches only the tool it names. */
function focusOf(body: unknown): RequestFocus {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return EVERYTHING;
  const message = body as { method?: unknown; params?: { name?: unknown } };
  if (message.method !== "tools/call") return EVERYTHING;
  const name = message.params?.name;
  return typeof name === "string" ? { tool: name } : EVERYTHING;
}

export function createMcpRequestHandler(
  logger: Logger,
  maxBodyBytes: number,
  factory: McpServerFactory = createMcpServer,
): McpHandler {
  const handler = createMcpHandler(
    ({ authInfo }) => {
      const identity = identityOf(authInfo);
      const focus = (authInfo?.extra?.focus as RequestFocus | undefined) ?? EVERYTHING;
      return factory(identity, logger.child({ subject: identity.subject }), focus);
    },
    {
      legacy: "stateless",
      // One JSON body per request unless a tool streams progress before its result.
      responseMode: "auto",
      maxRequestBodySize: maxBodyBytes,
      onerror: (error) => logger.debug({ err: error }, "MCP request refused by the SDK"),
    },
  );
  const failed = (error: Error) => logger.error({ err: error }, "MCP handler failed");
  return {
    async handle(req, res, identity, body) {
      const authInfo = authInfoOf(identity, focusOf(body));
      await observeMcpRequest(req, res, identity, body, () =>
        serveParsed(handler, req, res, authInfo, body, failed),
      );
    },
    close: () => handler.close(),
  };
}
