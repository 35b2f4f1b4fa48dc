/**
 * The greeting resource template: listed as a template, read through URIs it matches.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { registerGreeting } from "../src/resources/greeting.js";
import { connectItem } from "./helpers.js";

describe("resource template: greeting", () => {
  it("is listed as a template and reads the name from the URI", async () => {
    const client = await connectItem(registerGreeting);
    try {
      const { resourceTemplates } = await client.listResourceTemplates();
      assert.deepEqual(
        resourceTemplates.map(({ name, uriTemplate }) => ({ name, uriTemplate })),
        [{ name: "greeting", uriTemplate: "greeting://{name}" }],
      );
      const { contents } = await client.readResource({ uri: "greeting://Ada" });
      assert.deepEqual(contents, [
        { uri: "greeting://Ada", mimeType: "text/plain", text: "Hello, Ada!" },
      ]);
    } finally {
      await client.close();
    }
  });

  it("refuses a name over its limit with invalid params", async () => {
    const client = await connectItem(registerGreeting);
    try {
      await assert.rejects(client.readResource({ uri: `greeting://${"x".repeat(101)}` }), {
        code: -32602,
      });
    } finally {
      await client.close();
    }
  });
});
