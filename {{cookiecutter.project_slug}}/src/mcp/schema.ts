/**
 * A tool's schema with its JSON Schema converted once per process.
 *
 * The server is stateless: every request gets a fresh McpServer, and the SDK converts a tool's
 * zod schema to JSON Schema on every `tools/list` and, for the `Mcp-Param-*` header check, on
 * every `tools/call` (its memo lives on the McpServer instance, which lasts one request). With
 * the schema defined once at module level and wrapped here, that conversion runs once per
 * process. Validation is still zod's own (`~standard.validate`), so a tool's handler receives
 * the same typed, checked arguments.
 *
 * The converted schemas are frozen: they are shared by every request, and a caller that tried
 * to change one would change what the next caller is told.
 */
import type { StandardSchemaWithJSON } from "@modelcontextprotocol/server";

type Converter = StandardSchemaWithJSON["~standard"]["jsonSchema"]["input"];

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function memoised(convert: Converter): Converter {
  const byTarget = new Map<string, Record<string, unknown>>();
  return (options) => {
    let json = byTarget.get(options.target);
    if (json === undefined) {
      json = deepFreeze(convert(options));
      byTarget.set(options.target, json);
    }
    return json;
  };
}

/** `schema`, with `~standard.jsonSchema` answered from a per-process memo. */
export function convertedOnce<S extends StandardSchemaWithJSON>(schema: S): S {
  const standard = schema["~standard"];
  return {
    "~standard": {
      ...standard,
      validate: standard.validate,
      jsonSchema: {
        input: memoised(standard.jsonSchema.input),
        output: memoised(standard.jsonSchema.output),
      },
    },
  } as S;
}
