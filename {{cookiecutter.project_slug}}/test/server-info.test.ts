/**
 * The server-info resource: a static resource, listed and read. Copy this file with the
 * resource file to test a new resource.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SERVER_NAME, SERVER_VERSION } from "../src/config.js";
import { registerServerInfo, SERVER_INFO_URI } from "../src/resources/server-info.js";
import { connectItem } from "./helpers.js";

describe("resource: server-info", () => {
  it("is listed and reads as the server's name and version", async () => {
    const client = await connectItem(registerServerInfo);
    try {
      const { resources } = await client.listResources();
      assert.deepEqual(
        resources.map(({ name, uri, mimeType }) => ({ name, uri, mimeType })),
        [{ name: "server-info", uri: SERVER_INFO_URI, mimeType: "application/json" }],
      );
      const { contents } = await client.readResource({ uri: SERVER_INFO_URI });
      assert.equal(contents.length, 1);
      const [content] = contents;
      assert.ok(content && "text" in content);
      assert.deepEqual(JSON.parse(content.text), { name: SERVER_NAME, version: SERVER_VERSION });
    } finally {
      await client.close();
    }
  });
});
