/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728), served at
 * /.well-known/oauth-protected-resource and /.well-known/oauth-protected-resource/mcp.
 * MCP clients follow `resource_metadata` from a 401 to this document to find
 * the authorization server that issues tokens for this server.
 */
import type { Config } from "../config.js";

export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers?: string[];
  scopes_supported?: string[];
  bearer_methods_supported: string[];
  resource_name: string;
}

export function protectedResourceMetadata(
  config: Config,
  resourceName: string,
): ProtectedResourceMetadata {
  const metadata: ProtectedResourceMetadata = {
    resource: config.resourceUrl,
    bearer_methods_supported: ["header"],
    resource_name: resourceName,
  };
  if (config.jwt !== undefined) metadata.authorization_servers = [config.jwt.issuer];
  if (config.requiredScopes.length > 0) metadata.scopes_supported = [...config.requiredScopes];
  return metadata;
}
