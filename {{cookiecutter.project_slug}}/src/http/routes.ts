/**
 * The route table: path -> method -> handler. The one place that answers 404, and 405 with
 * an `Allow` header naming exactly the methods the table lists for the path (HEAD wherever
 * GET is).
 */
import type { IncomingMessage, ServerResponse } from "node:http";

type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface Route {
  /** Runs before the method is looked at (the /mcp Host/Origin checks); false = answered. */
  readonly guard?: (req: IncomingMessage, res: ServerResponse) => boolean;
  readonly methods: Readonly<Partial<Record<string, RouteHandler>>>;
  /** Refusals on this path are JSON-RPC error objects (what an MCP client parses). */
  readonly jsonRpc?: boolean;
}

export type RouteTable = ReadonlyMap<string, Route>;

type RouteMatch =
  | { readonly kind: "found"; readonly route: Route; readonly handler: RouteHandler }
  | { readonly kind: "method_not_allowed"; readonly route: Route; readonly allow: string }
  | { readonly kind: "not_found" };

export function allowedMethods(route: Route): string[] {
  const methods = Object.keys(route.methods);
  if (methods.includes("GET") && !methods.includes("HEAD")) methods.splice(1, 0, "HEAD");
  return methods;
}

export function matchRoute(table: RouteTable, path: string, method: string): RouteMatch {
  const route = table.get(path);
  if (route === undefined) return { kind: "not_found" };
  const handler = route.methods[method] ?? (method === "HEAD" ? route.methods.GET : undefined);
  if (handler === undefined) {
    return { kind: "method_not_allowed", route, allow: allowedMethods(route).join(", ") };
  }
  return { kind: "found", route, handler };
}
