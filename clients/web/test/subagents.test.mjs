// Sub-agents on the page, against the real daemon: the parent's model spawns a child
// (`spawn_agent`), and each thread runs a command that needs approval. On the desktop and on a
// phone watching the parent: the child listed under its parent in the tree, the spawn call with a
// link to it, the child's question shown under the parent ("Sub-agent ada asks"); the phone opens
// the child from that card and answers it there (the desktop's copy goes away), the desktop
// answers the parent's own; then the desktop opens the child from the tree (its header leads back
// to the parent) and goes back.
//
// The mock model answers in arrival order, and the parent's request after the spawn races the
// child's first: both get a shell call, then both a message, so either may take either.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { messageAnswer, shellCallAnswer, startDaemon, startMock } from "../../typescript/dist/test/harness.js";
import { assertNoOverflow, DESKTOP, launch, openPage, PHONE, pickThread, shot, skip } from "./helpers.mjs";

const spawnAnswer = (callId, message) => ({
  responses: [{ function_call: { call_id: callId, name: "spawn_agent", arguments: { message } } }, { completed: {} }],
});

describe("sub-agents", { skip }, () => {
  let mock, daemon, browser;

  before(async () => {
    mock = await startMock([
      spawnAnswer("s1", "CHILD-A: make a file"),
      shellCallAnswer("x1", ["touch", "one.txt"]),
      shellCallAnswer("x2", ["touch", "two.txt"]),
      messageAnswer(["done ", "here"]),
      messageAnswer(["done ", "here"]),
    ]);
    daemon = await startDaemon(mock.url, { approvals: true });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await daemon?.stop();
    await mock?.stop();
  });

  test("a child under its parent: listed, linked, its question answered from its own page", async () => {
    const a = await openPage(browser, daemon, { name: "desktop", viewport: DESKTOP });
    await a.click("[data-testid=new-thread]");
    const parentId = await a.locator("[data-testid=thread][aria-current]").getAttribute("data-thread-id");
    const b = await openPage(browser, daemon, { name: "phone", viewport: PHONE, query: `&thread=${parentId}` });
    await b.locator("[data-testid=turns]").waitFor();
    await a.fill("[data-testid=prompt]", "delegate");
    await a.click("[data-testid=send]");

    // The tree: the child nested under the parent, by nickname.
    const childEntry = a.locator(`#thread-list [data-testid=thread][data-parent-id="${parentId}"]`);
    await childEntry.waitFor({ timeout: 15_000 });
    const childId = await childEntry.getAttribute("data-thread-id");
    const nested = await a.evaluate(
      (id) => document.querySelector(`#thread-list [data-thread-id="${id}"]`)?.closest("ul")?.closest("li")?.querySelector(":scope > button")?.dataset.threadId,
      childId,
    );
    assert.equal(nested, parentId, "the child's entry sits in its parent's sublist");
    assert.match(await childEntry.innerText(), /ada: CHILD-A: make a file/);

    // The spawn call in the parent's transcript, with the child's state and a link to it.
    for (const page of [a, b]) {
      const spawn = page.locator("[data-testid=collab][data-tool=spawnAgent]");
      await spawn.waitFor({ timeout: 15_000 });
      assert.match(await spawn.innerText(), /Started a sub-agent/);
      await spawn.locator(`[data-testid=collab-agent][data-thread-id="${childId}"]`).waitFor();
      assert.match(await spawn.locator("[data-testid=subagent-link]").innerText(), /ada/);
    }

    // Both questions on both pages, while the parent is open: the parent's, and the child's,
    // saying whose it is.
    const childCard = (page) => page.locator(`[data-testid=approval][data-thread-id="${childId}"]`);
    const parentCard = (page) => page.locator(`[data-testid=approval][data-thread-id="${parentId}"]`);
    for (const page of [a, b]) {
      await childCard(page).waitFor({ timeout: 15_000 });
      await parentCard(page).waitFor({ timeout: 15_000 });
      assert.match(await childCard(page).locator("[data-testid=approval-from]").innerText(), /Sub-agent ada: CHILD-A: make a file asks/);
      assert.equal(await parentCard(page).locator("[data-testid=approval-from]").count(), 0, "the parent's own question says nothing more");
      assert.match(await childCard(page).locator("[data-testid=approval-command]").innerText(), /touch (one|two)\.txt/);
    }
    await assertNoOverflow(b, "phone, a sub-agent's question under its parent");
    await shot(b, "s1-phone-subagent-question");
    await shot(a, "s1-desktop-subagent-question");

    // The phone opens the child from the card and answers it on the child's own page.
    await childCard(b).locator("[data-testid=open-asking-thread]").tap();
    await b.locator("[data-testid=thread-title]", { hasText: "ada: CHILD-A: make a file" }).waitFor({ timeout: 15_000 });
    await b.locator("[data-testid=user-message]", { hasText: "CHILD-A: make a file" }).waitFor({ timeout: 15_000 });
    assert.equal(await parentCard(b).count(), 0, "the child's page shows the child's questions only");
    const own = childCard(b);
    await own.waitFor({ timeout: 15_000 });
    assert.equal(await own.locator("[data-testid=approval-from]").count(), 0, "on its own page the question is the page's");
    assert.match(await b.locator("[data-testid=parent-link]").innerText(), /delegate/);
    await shot(b, "s2-phone-child-page");
    await own.locator("[data-testid=approve]").tap();
    await childCard(a).waitFor({ state: "detached", timeout: 15_000 });

    // The desktop answers the parent's own question; both threads finish.
    await parentCard(a).locator("[data-testid=approve]").click();
    await a.locator("[data-testid=agent-message]", { hasText: "done here" }).waitFor({ timeout: 20_000 });
    await b.locator("[data-testid=agent-message]", { hasText: "done here" }).waitFor({ timeout: 20_000 });
    await a.locator("[data-testid=send][data-mode=start]").waitFor({ timeout: 20_000 });
    assert.ok(existsSync(join(daemon.workspace, "one.txt")) && existsSync(join(daemon.workspace, "two.txt")), "both commands ran");

    // The desktop opens the child from the tree: its transcript, a way back to the parent.
    await pickThread(a, childId);
    await a.locator("[data-testid=thread-title]", { hasText: "ada: CHILD-A: make a file" }).waitFor({ timeout: 15_000 });
    await a.locator("[data-testid=command]", { hasText: "touch" }).waitFor({ timeout: 15_000 });
    assert.equal(await a.locator("[data-testid=collab]").count(), 0, "nothing of the parent in the child's transcript");
    await assertNoOverflow(a, "desktop, the child's page");
    await shot(a, "s3-desktop-child-page");
    await a.click("[data-testid=parent-link]");
    await a.locator("[data-testid=collab][data-tool=spawnAgent]").waitFor({ timeout: 15_000 });
    assert.equal(await a.locator("[data-testid=thread][aria-current]").getAttribute("data-thread-id"), parentId);
    await a.locator(`[data-testid=collab] [data-testid=subagent-link]`).click();
    await a.locator("[data-testid=thread-title]", { hasText: "ada: CHILD-A: make a file" }).waitFor({ timeout: 15_000 });

    assert.deepEqual(a.errors, []);
    assert.deepEqual(b.errors, []);
    await a.closeAll();
    await b.closeAll();
  });
});
