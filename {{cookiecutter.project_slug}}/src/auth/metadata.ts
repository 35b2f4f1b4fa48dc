/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728), served at
 * /.well-known/oauth-protected-resource and /.well-known/oauth-protected-resource/mcp.
 * MCP clients follow `resource_metadata` from a 401 to this document to find
 * the authorization server that issues tokens for this server.
 */
import type { Config } from "../config.js";
import { modeOf } from "./modes/index.js";

interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers?: string[];
  scopes_supported?: string[];
  bearer_methods_supported: string[];
  resource_name: string;
}

/**
 * `scopes_supported`: the required scopes, then `toolScopes` (every scope a tool declares, passed
 * in: authentication sits below the tools and imports nothing from them), only where the mode's
 * credentials carry scopes (API keys carry none). `authorization_servers`: what the mode names,
 * where MCP clients register and ask for tokens (JWT: the issuer; with `npm run dev:auth`, the
 * local authorization server).
 */
export function protectedResourceMetadata(
  config: Config,
  resourceName: string,
  toolScopes: readonly string[],
): ProtectedResourceMetadata {
  const metadata: ProtectedResourceMetadata = {
    resource: config.resourceUrl,
    bearer_methods_supported: ["header"],
    resource_name: resourceName,
  };
  const mode = modeOf(config.auth);
  const servers = mode.authorizationServers(config.auth);
  if (servers !== undefined) metadata.authorization_servers = [...servers];
  if (mode.scopes) {
    const scopes = [...new Set([...config.requiredScopes, ...toolScopes])];
    if (scopes.length > 0) metadata.scopes_supported = scopes;
  }
  return metadata;
}
