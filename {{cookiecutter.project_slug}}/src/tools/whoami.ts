/**
 * Returns who is calling: the example of how a tool reads the caller's identity.
 * Tools receive the verified identity (subject, scopes), never the token.
 */
import type { ToolModule } from "../mcp/context.js";

export const whoami: ToolModule = {
  name: "whoami",
  scopes: [],
  register(server, { identity }) {
    server.registerTool(
      "whoami",
      {
        title: "Who am I",
        description: "Returns the authenticated caller: subject (or API key id) and scopes.",
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      async () => {
        const caller = {
          subject: identity.subject,
          scopes: identity.scopes,
          method: identity.method,
          ...(identity.clientId === undefined ? {} : { clientId: identity.clientId }),
        };
        return {
          content: [{ type: "text", text: JSON.stringify(caller) }],
          structuredContent: caller,
        };
      },
    );
  },
};
