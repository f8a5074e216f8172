/**
 * The registry and the layering around the plugin contract. The contract
 * itself is one suite (tests/support/contract/) that each plugin runs from
 * its own `plugins/<id>/mod_test.ts`; this file checks that every plugin
 * does, that a new platform is one folder plus one line in plugins/mod.ts,
 * and that core imports no plugin and keeps its layers.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { loadPlugins } from "../plugins/mod.ts";

const ROOT = new URL("../", import.meta.url);

/** Each file the plugin layout asks for (STYLE.md, "A delivery plugin"). */
const PLUGIN_FILES = ["mod.ts", "schema.ts", "transport.ts", "mod_test.ts"];

async function folders(path: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(new URL(path, ROOT))) {
    if (entry.isDirectory) names.push(entry.name);
  }
  return names.sort();
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(new URL(path, ROOT));
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** A TypeScript file that is not a test (`*_test.ts`) or test support (`test_*.ts`). */
function isProduct(name: string): boolean {
  return name.endsWith(".ts") && !name.endsWith("_test.ts") && !name.startsWith("test_");
}

/** Every .ts file under `dir` that is not a test or test support. */
async function productFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  const walk = async (path: string) => {
    for await (const entry of Deno.readDir(new URL(path, ROOT))) {
      const child = `${path}/${entry.name}`;
      if (entry.isDirectory) await walk(child);
      else if (isProduct(entry.name)) files.push(child);
    }
  };
  await walk(dir);
  return files.sort();
}

/** The specifiers a file imports or re-exports, statically or dynamically. */
async function importsOf(path: string): Promise<string[]> {
  const text = await Deno.readTextFile(new URL(path, ROOT));
  const found: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*"([^"]+)"/g)) found.push(m[1]!);
  return found;
}

/** Resolves a relative specifier against the importing file, as a path from the root. */
function resolved(from: string, specifier: string): string {
  if (!specifier.startsWith(".")) return specifier;
  return new URL(specifier, new URL(from, ROOT)).pathname.slice(ROOT.pathname.length);
}

Deno.test("plugins/mod.ts registers every plugin folder, each named by its config id", async () => {
  const withMod: string[] = [];
  for (const name of await folders("plugins")) {
    if (await exists(`plugins/${name}/mod.ts`)) withMod.push(name);
  }
  const plugins = await loadPlugins();
  assertEquals([...plugins.keys()].sort(), withMod);
  for (const [id, plugin] of plugins) assertEquals(plugin.id, id);
});

Deno.test("every registered plugin has the plugin files and runs the shared contract suite", async () => {
  for (const id of (await loadPlugins()).keys()) {
    for (const file of PLUGIN_FILES) {
      assert(await exists(`plugins/${id}/${file}`), `plugins/${id}/${file} is missing`);
    }
    const test = await Deno.readTextFile(new URL(`plugins/${id}/mod_test.ts`, ROOT));
    assert(
      (await importsOf(`plugins/${id}/mod_test.ts`)).includes(
        "../../tests/support/contract/mod.ts",
      ),
      `plugins/${id}/mod_test.ts does not import the contract suite`,
    );
    assert(/\brunContract\(plugin,/.test(test), `plugins/${id}/mod_test.ts does not run it`);
  }
});

Deno.test("core imports no plugin (but the command line's own modules); core/http imports nothing of core/deliver", async () => {
  const wrong: string[] = [];
  for (const file of await productFiles("core")) {
    // core/cli is cli.ts's own modules: the top of the graph, where the registry is loaded.
    if (file.startsWith("core/cli/")) continue;
    for (const specifier of await importsOf(file)) {
      const target = resolved(file, specifier);
      if (target.startsWith("plugins/")) wrong.push(`${file} -> ${target}`);
      if (file.startsWith("core/http/") && target.startsWith("core/deliver/")) {
        wrong.push(`${file} -> ${target}`);
      }
    }
  }
  assertEquals(wrong, []);
});

Deno.test("a plugin imports core and its own folder, or the shared plugins/sparkpost helpers", async () => {
  const wrong: string[] = [];
  for (const file of await productFiles("plugins")) {
    if (file === "plugins/mod.ts") continue;
    const own = file.split("/").slice(0, 2).join("/") + "/";
    for (const specifier of await importsOf(file)) {
      const target = resolved(file, specifier);
      if (!target.startsWith("plugins/")) continue;
      if (!target.startsWith(own) && !target.startsWith("plugins/sparkpost/")) {
        wrong.push(`${file} -> ${target}`);
      }
    }
  }
  assertEquals(wrong, []);
});
