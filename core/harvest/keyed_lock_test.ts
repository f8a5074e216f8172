import { assertEquals } from "../../tests/support/assert.ts";
import { KeyedLock } from "./keyed_lock.ts";

/** A promise and the function that settles it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => open = resolve);
  return { opened, open };
}

Deno.test("KeyedLock.run() runs work for one key one at a time, in arrival order", async () => {
  const lock = new KeyedLock();
  const events: string[] = [];
  const first = gate();
  const a = lock.run("alice", async () => {
    events.push("a start");
    await first.opened;
    events.push("a end");
  });
  const b = lock.run("alice", () => {
    events.push("b start");
    return Promise.resolve("b");
  });
  // Let every queued microtask run: b must still wait for a.
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(events, ["a start"]);
  first.open();
  assertEquals(await b, "b");
  await a;
  assertEquals(events, ["a start", "a end", "b start"]);
  assertEquals(lock.size, 0);
});

Deno.test("KeyedLock.run() lets different keys run side by side", async () => {
  const lock = new KeyedLock();
  const held = gate();
  const events: string[] = [];
  const a = lock.run("alice", async () => {
    await held.opened;
    events.push("alice");
  });
  await lock.run("bob", () => {
    events.push("bob");
    return Promise.resolve();
  });
  assertEquals(events, ["bob"]);
  held.open();
  await a;
  assertEquals(events, ["bob", "alice"]);
});

Deno.test("KeyedLock.run() passes a rejection on and still releases the key", async () => {
  const lock = new KeyedLock();
  const failed = await lock.run("k", () => Promise.reject(new Error("boom"))).catch((e) => e);
  assertEquals((failed as Error).message, "boom");
  assertEquals(await lock.run("k", () => Promise.resolve(1)), 1);
  assertEquals(lock.size, 0);
});
