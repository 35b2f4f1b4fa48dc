/**
 * A resource template: a family of URIs (`greeting://{name}`), read with the variables the
 * URI fills in. The variables come from the client: validate them like tool arguments.
 */
import {
  type McpServer,
  ProtocolError,
  ProtocolErrorCode,
  ResourceTemplate,
} from "@modelcontextprotocol/server";
import * as z from "zod";
import type { McpContext } from "../mcp/context.js";

const Name = z.string().min(1).max(100);
// Parsed once per process; every request's fresh server registers the same template.
// `list: undefined`: the names are unbounded, so resources/list does not enumerate them.
const Template = new ResourceTemplate("greeting://{name}", { list: undefined });

export function registerGreeting(server: McpServer, _context: McpContext): void {
  server.registerResource(
    "greeting",
    Template,
    {
      title: "Greeting",
      description: "A greeting for the name in the URI.",
      mimeType: "text/plain",
    },
    async (uri, { name }) => {
      const parsed = Name.safeParse(name);
      if (!parsed.success) {
        throw new ProtocolError(
          ProtocolErrorCode.InvalidParams,
          "name: expected 1 to 100 characters",
        );
      }
      return {
        contents: [{ uri: uri.href, mimeType: "text/plain", text: `Hello, ${parsed.data}!` }],
      };
    },
  );
}
