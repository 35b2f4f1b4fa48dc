/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728), served at
 * /.well-known/oauth-protected-resource and /.well-known/oauth-protected-resource/mcp.
 * MCP clients follow `resource_metadata` from a 401 to this document to find
 * the authorization server that issues tokens for this server.
 */
import type { Config } from "../config.js";

interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers?: string[];
  scopes_supported?: string[];
  bearer_methods_supported: string[];
  resource_name: string;
}

/**
 * `scopes_supported`: the required scopes, then every scope a tool declares (JWT mode only: API
 * keys carry no scopes). `authorization_servers`: the issuer, where MCP clients register and
 * ask for tokens (with `npm run dev:auth`, the local authorization server). The tools' scopes
 * are passed in (the /mcp route reads them from src/tools/): auth sits below the tools.
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
  if (config.jwt !== undefined) metadata.authorization_servers = [config.jwt.issuer];
  if (config.jwt !== undefined) {
    const scopes = [...new Set([...config.requiredScopes, ...toolScopes])];
    if (scopes.length > 0) metadata.scopes_supported = scopes;
  }
  return metadata;
}
