/**
 * A static resource: one fixed URI, read like a file. Copy this file to add a resource, then
 * list it in resources/index.ts.
 */
import type { McpServer } from "@modelcontextprotocol/server";
import { SERVER_NAME, SERVER_VERSION } from "../config.js";
import type { McpContext } from "../mcp/context.js";

export const SERVER_INFO_URI = "info://server";

export function registerServerInfo(server: McpServer, _context: McpContext): void {
  server.registerResource(
    "server-info",
    SERVER_INFO_URI,
    {
      title: "Server information",
      description: "This server's name and version.",
      mimeType: "application/json",
    },
    async (uri) => ({
      contents: [
        {
          uri: uri.href,
          mimeType: "application/json",
          text: JSON.stringify({ name: SERVER_NAME, version: SERVER_VERSION }),
        },
      ],
    }),
  );
}
