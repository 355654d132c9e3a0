// The todo example's story, driven through its UI with Playwright: used by
// `npm start -- --headless` (scripts/demo.mjs) and by the examples' tests
// (tests-browser/tests/examples.host.mjs) for both examples, which share
// their markup. `a` and `b` are pages of two separate browser contexts
// (scripts/browsers.mjs, with .pw the Playwright page); `say(who, what)`
// prints the transcript. Text is typed key by key, as a person does (a
// driver's fill() sets the value from script, which React's controlled
// inputs do not see as an edit in Firefox over WebDriver BiDi).

export const peers = (p) => p.pw.evaluate(() => window.__demo.syncs[1].peers().filter((x) => x.state === 'synced' || x.state === 'syncing').length);
const titles = (p) => p.pw.evaluate(() => window.__demo.todos.all().map((t) => t.title).sort());
/** Every record, with the multi-value register's values sorted: equal on both sides once converged. */
export const state = (p) =>
  p.pw.evaluate(() =>
    window.__demo.todos
      .all()
      .map((t) => ({ ...t, assignee: [...t.assignee].sort(), tags: [...t.tags].sort() }))
      .sort((x, y) => x.title.localeCompare(y.title)),
  );

export async function until(what, ok, ms = 20_000, why = async () => '') {
  const start = Date.now();
  for (;;) {
    if (await ok()) return;
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}${(await why()).replace(/^(?=.)/, ': ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function todoFlow(a, b, say) {
  await until('both windows to see each other over WebRTC', async () => (await peers(a)) > 0 && (await peers(b)) > 0);
  say('demo', 'connected peer to peer (WebRTC data channel)');
  await a.pw.locator('#new-title').pressSequentially('Buy milk');
  await a.pw.press('#new-title', 'Enter');
  say('alice', 'adds "Buy milk"');
  await b.pw.locator('#new-title').pressSequentially('Walk the dog');
  await b.pw.press('#new-title', 'Enter');
  say('bob', 'adds "Walk the dog"');
  await until('both todos on both sides', async () => (await titles(a)).length === 2 && (await titles(b)).length === 2, 20_000, async () => `a has ${JSON.stringify(await titles(a))}, b ${JSON.stringify(await titles(b))}`);
  say('demo', `both windows list: ${(await titles(a)).join(', ')}`);

  // Concurrent edits of one todo, made while both are offline: both vote,
  // both assign it, one ticks it, the other tags it.
  const milk = (p) => p.pw.locator('li[data-title="Buy milk"]');
  await a.pw.click('#online');
  await b.pw.click('#online');
  say('demo', 'both go offline');
  await milk(a).locator('button.up').click();
  await milk(a).locator('.assignee input').pressSequentially('alice');
  await milk(a).locator('.assignee input').press('Enter');
  await milk(a).locator('input.done').check();
  say('alice', 'votes for "Buy milk", assigns it to alice, ticks it');
  await milk(b).locator('button.up').click();
  await milk(b).locator('.assignee input').pressSequentially('bob');
  await milk(b).locator('.assignee input').press('Enter');
  await milk(b).locator('input.addtag').pressSequentially('urgent');
  await milk(b).locator('input.addtag').press('Enter');
  say('bob', 'votes for it too, assigns it to bob, tags it "urgent"');
  await a.pw.click('#online');
  await b.pw.click('#online');
  say('demo', 'both come back online');
  await until('the two windows to converge', async () => JSON.stringify(await state(a)) === JSON.stringify(await state(b)) && (await state(a))[0].votes === 2);
  const m = (await state(a))[0];
  say('demo', `converged: votes ${m.votes}, done ${m.done}, tags [${m.tags}], assignee [${m.assignee.join(' | ')}] (a conflict: both values kept)`);
  if (m.assignee.length !== 2 || m.done !== true || !m.tags.includes('urgent')) throw new Error(`unexpected merge: ${JSON.stringify(m)}`);
  await milk(b).locator('.conflict').waitFor();

  await milk(a).locator('.conflict button.pick', { hasText: 'bob' }).click();
  say('alice', 'resolves the conflict: bob');
  await until('the resolution to reach bob', async () => JSON.stringify((await state(b))[0].assignee) === '["bob"]');
  say('bob', 'sees "Buy milk" assigned to bob');

  const before = JSON.stringify(await state(b));
  await b.pw.reload();
  await b.pw.waitForSelector('body[data-ready="true"]');
  const after = JSON.stringify(await state(b));
  if (after !== before) throw new Error(`the reload lost data:\n  ${before}\n  ${after}`);
  say('bob', `reloads: ${(await state(b)).length} todos still there (IndexedDB)`);
  await until('the reloaded window to reconnect', async () => (await peers(b)) > 0);
  say('bob', 'back in sync');
}
