/**
 * An operator's tool: the server's version, uptime and memory. The example of a tool that needs
 * a scope: only a caller whose token carries `mcp:admin` sees it in tools/list or may call it;
 * anyone else's call is answered 403 `insufficient_scope` (an MCP client then asks the
 * authorization server for the wider scope and retries, the "step-up").
 */
import { SERVER_VERSION } from "../config.js";
import type { ToolModule } from "../mcp/context.js";

export const serverStatus: ToolModule = {
  name: "server_status",
  scopes: ["mcp:admin"],
  register(server) {
    server.registerTool(
      "server_status",
      {
        title: "Server status",
        description:
          "Returns the server's version, uptime and memory use (needs the mcp:admin scope).",
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      async () => {
        const status = {
          version: SERVER_VERSION,
          node: process.version,
          uptimeSeconds: Math.round(process.uptime()),
          rssBytes: process.memoryUsage().rss,
        };
        return {
          content: [{ type: "text", text: JSON.stringify(status) }],
          structuredContent: status,
        };
      },
    );
  },
};
