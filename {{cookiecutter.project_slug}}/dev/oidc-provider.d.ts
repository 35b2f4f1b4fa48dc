/**
 * The part of oidc-provider's API that dev/auth-server.ts uses (the package ships no types).
 */
declare module "oidc-provider" {
  import type { IncomingMessage, ServerResponse } from "node:http";

  export class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    /** The request listener, for node:http's createServer. */
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
  }

  export const errors: { readonly InvalidTarget: new (description?: string) => Error };
}
