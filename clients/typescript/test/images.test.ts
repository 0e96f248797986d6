// Images in turn input against the real daemon: a file on the daemon's machine by path
// (`localImage`) and bytes sent as a `data:` URL (`image`), next to text, reach the turn and come
// back in its user message as sent; a path the daemon cannot read as an image is refused,
// naming the input.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { imageDataUrl, RpcError, userInput } from "../src/index.js";
import { connectNodeWebSocket, imageFileInput } from "../src/node.js";
import { messageAnswer, startDaemon, startMock, type Daemon, type Mock } from "./harness.js";

const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);

describe("images in turn input", () => {
  let mock: Mock;
  let daemon: Daemon;
  before(async () => {
    mock = await startMock([messageAnswer(["Two ", "images."])]);
    daemon = await startDaemon(mock.url);
  });
  after(async () => {
    await daemon?.stop();
    await mock?.stop();
  });

  test("a local image by path and one sent as a data: URL reach the turn's user message", async () => {
    const client = await connectNodeWebSocket(daemon.url, { token: daemon.token });
    try {
      const path = join(daemon.workspace, "shot.png");
      writeFileSync(path, PNG);
      const sent = await imageFileInput(path);
      assert.deepEqual(sent, userInput.image(imageDataUrl(PNG)));
      const { thread } = await client.startThread({ cwd: daemon.workspace });
      const { turn } = await client.startTurn(thread.id, ["What is in these?", userInput.localImage(path), sent]);
      const done = await client.waitForTurn(thread.id, turn.id, 20_000);
      assert.equal(done.status, "completed");
      const user = done.items.find((i) => i.type === "userMessage");
      assert.ok(user?.type === "userMessage");
      assert.deepEqual(user.content, [
        { type: "text", text: "What is in these?" },
        { type: "localImage", path },
        { type: "image", url: imageDataUrl(PNG) },
      ]);

      // Not an image on the daemon's disk: refused before any turn runs, naming the input.
      const notes = join(daemon.workspace, "notes.txt");
      writeFileSync(notes, "hello");
      await assert.rejects(client.startTurn(thread.id, ["look", userInput.localImage(notes)]), (e: unknown) => {
        assert.ok(e instanceof RpcError, String(e));
        assert.match(e.message, /input\[1\]/);
        return true;
      });
    } finally {
      await client.close();
    }
  });
});
