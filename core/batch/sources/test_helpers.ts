/**
 * Helpers for this folder's tests: drain an input sequence past its errors,
 * build file trees, make streams.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { InputError, type InputItem } from "./types.ts";

/** What a test compares: the key, and the error code or the message text. */
export interface Seen {
  key: string;
  label: string;
  text?: string;
  error?: string;
}

const decoder = new TextDecoder();

function seen(item: InputItem): Seen {
  if (item instanceof InputError) return { key: item.key, label: item.label, error: item.message };
  return { key: item.key, label: item.label, text: decoder.decode(item.bytes) };
}

/** Everything a sequence yields, going on past rejected items as a runner may. */
export async function drain(items: AsyncIterator<unknown>): Promise<Seen[]> {
  const all: Seen[] = [];
  while (true) {
    try {
      const result = await items.next();
      if (result.done) return all;
      all.push(seen(result.value as InputItem));
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      all.push(seen(err));
    }
  }
}

/** Everything an internal generator yields (errors are values there). */
export async function collect(items: AsyncIterable<InputItem>): Promise<Seen[]> {
  const all: Seen[] = [];
  for await (const item of items) all.push(seen(item));
  return all;
}

/** Writes `files` (relative path -> text) under a new temporary folder; returns it. */
export async function makeTree(files: Record<string, string>): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "smimepost-sources-" });
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(dirname(join(root, path)), { recursive: true });
    await Deno.writeTextFile(join(root, path), text);
  }
  return root;
}

/** A stream of `text` in chunks of `size` bytes. */
export function streamOf(text: string, size = 3): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}
