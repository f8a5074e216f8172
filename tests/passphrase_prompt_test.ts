/**
 * The passphrase prompt on a real pseudo-terminal (util-linux script(1)).
 * Echo must be off before the prompt shows, so neither a passphrase typed
 * when the prompt shows nor one typed ahead of it ever reaches the screen,
 * and the terminal is restored however the prompt ends. The CLI runs under
 * `sh -c 'tty > tty.txt; CLI; echo exit=$?; stty -a'`, so the test knows
 * the terminal's name and the screen also shows the exit status and the
 * terminal's modes after the CLI has gone.
 */
import { assert, assertEquals, assertIncludes, assertMatch } from "./support/assert.ts";
import { testPki } from "./support/helpers.ts";

const SCRIPT = ["/usr/bin/script", "/bin/script"].find((path) => {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
});
const PASSPHRASE = "grace-test-passphrase";
const MESSAGE = "From: grace@example.com\nTo: Bob <bob@example.com>\n" +
  "Cc: carol@example.net\nSubject: Statement\n\nHello Bob,\nbye\n";
const encoder = new TextEncoder();
const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/** `send --sign` of a message whose key is encrypted, run on a pseudo-terminal. */
class TerminalRun {
  screen = "";
  readonly #child: Deno.ChildProcess;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #decoder = new TextDecoder();

  readonly #dir: string;

  private constructor(child: Deno.ChildProcess, dir: string) {
    this.#child = child;
    this.#dir = dir;
    this.#reader = child.stdout.getReader();
    this.#writer = child.stdin.getWriter();
  }

  static async start(dir: string): Promise<TerminalRun> {
    const pki = await testPki();
    const { compileRuntimeFlags } = await import("../scripts/run_cli.ts");
    const cli = new URL("../cli.ts", import.meta.url).pathname;
    const command = "tty > tty.txt; " +
      [Deno.execPath(), "run", "--quiet", ...await compileRuntimeFlags(), cli]
        .concat(["send", "m.eml", "--sign", "--keys", pki, "-o", "out.eml", "-q"])
        .map(quote).join(" ") +
      '; echo "exit=$?"; stty -a';
    const child = new Deno.Command(SCRIPT!, {
      args: ["-qec", command, "/dev/null"],
      cwd: dir,
      env: { SHELL: "/bin/sh" },
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    return new TerminalRun(child, dir);
  }

  /** Reads the screen until `text` shows (or the run ends). */
  async readUntil(text: string): Promise<void> {
    while (!this.screen.includes(text)) {
      const { value, done } = await this.#reader.read();
      if (done) return;
      this.screen += this.#decoder.decode(value);
    }
  }

  /**
   * Types `keys` and ends the input; returns once the run is over. A run that
   * is still waiting after a minute is killed, so a prompt that swallows the
   * keys fails the test instead of hanging it.
   */
  async typeAndFinish(keys: string): Promise<void> {
    await this.#writer.write(encoder.encode(keys));
    await this.#writer.close();
    const watchdog = setTimeout(() => this.#child.kill("SIGKILL"), 60_000);
    try {
      await this.readUntil("\u0000never");
      const { signal } = await this.#child.status;
      assertEquals(signal, null, `the run hung and was killed; screen: ${this.screen}`);
    } finally {
      clearTimeout(watchdog);
    }
  }

  /** The terminal device the CLI reads: its shell writes tty(1)'s answer to a file first. */
  async terminal(): Promise<string> {
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      const name = await Deno.readTextFile(`${this.#dir}/tty.txt`).catch(() => "");
      if (name.endsWith("\n")) return name.trim();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`no terminal name from script(1), pid ${this.#child.pid}`);
  }

  /** Waits (a minute at most) until the terminal stops echoing. */
  async untilEchoOff(tty: string): Promise<void> {
    for (const deadline = Date.now() + 60_000; await this.isEchoOn(tty);) {
      assert(Date.now() < deadline, "the terminal kept echoing for a minute");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Whether the terminal echoes what is typed, as stty(1) reports it. */
  async isEchoOn(tty: string): Promise<boolean> {
    const { stdout } = await new Deno.Command("stty", { args: ["-a", "-F", tty] }).output();
    const modes = new TextDecoder().decode(stdout);
    assertMatch(modes, /(^|\s)-?echo(\s|$)/, `stty -a -F ${tty}: ${modes}`);
    return /(^|\s)echo(\s|$)/.test(modes);
  }
}

/** A scratch folder with the message, run on a pseudo-terminal, then removed. */
async function onTerminal(fn: (run: TerminalRun, dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-prompt-" });
  try {
    await Deno.writeTextFile(`${dir}/m.eml`, MESSAGE);
    await fn(await TerminalRun.start(dir), dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The exit status the screen shows, and the terminal restored to echo and lines. */
function assertEnded(run: TerminalRun, code: number): void {
  assertMatch(run.screen, new RegExp(`exit=${code}\\r?\\n`), run.screen);
  const modes = run.screen.slice(run.screen.indexOf(`exit=${code}`));
  assertMatch(modes, /(^|\s)echo(\s|$)/, `echo not restored: ${modes}`);
  assertMatch(modes, /(^|\s)icanon(\s|$)/, `line mode not restored: ${modes}`);
}

const ignore = SCRIPT === undefined;

Deno.test({
  name: "send asks for the passphrase on a terminal, without echoing it",
  ignore,
  fn: () =>
    onTerminal(async (run, dir) => {
      // Typed the moment the prompt is on the screen, as a paste would be.
      await run.readUntil("Passphrase for ");
      await run.typeAndFinish(`${PASSPHRASE}\r`);
      assertEnded(run, 0);
      assertIncludes(run.screen, "Passphrase for ");
      assert(!run.screen.includes(PASSPHRASE), "the passphrase was echoed");
      assertIncludes(await Deno.readTextFile(`${dir}/out.eml`), "smime-type=signed-data");
    }),
});

Deno.test({
  name: "send takes a passphrase typed ahead of the prompt, without echoing it",
  ignore,
  fn: () =>
    onTerminal(async (run, dir) => {
      // Typed as soon as the terminal stops echoing, before reading the prompt.
      const tty = await run.terminal();
      await run.untilEchoOff(tty);
      await run.typeAndFinish(`${PASSPHRASE}\r`);
      assertEnded(run, 0);
      assertIncludes(run.screen, "Passphrase for ");
      assert(!run.screen.includes(PASSPHRASE), "the passphrase was echoed");
      assertIncludes(await Deno.readTextFile(`${dir}/out.eml`), "smime-type=signed-data");
    }),
});

Deno.test({
  name: "send restores the terminal when Ctrl-C interrupts the passphrase prompt",
  ignore,
  fn: () =>
    onTerminal(async (run, dir) => {
      await run.readUntil("Passphrase for ");
      await run.typeAndFinish("grace-te\u0003");
      assertEnded(run, 77);
      assertIncludes(run.screen, "interrupted at the passphrase prompt");
      assert(!run.screen.includes("grace-te"), "the typed part was echoed");
      await assertGone(`${dir}/out.eml`);
    }),
});

Deno.test({
  name: "send restores the terminal when the passphrase prompt gets EOF (Ctrl-D)",
  ignore,
  fn: () =>
    onTerminal(async (run, dir) => {
      await run.readUntil("Passphrase for ");
      await run.typeAndFinish("\u0004");
      assertEnded(run, 77);
      assertMatch(run.screen, /passphrase/i);
      await assertGone(`${dir}/out.eml`);
    }),
});

async function assertGone(path: string): Promise<void> {
  const exists = await Deno.stat(path).then(() => true, () => false);
  assertEquals(exists, false, `${path} must not be written`);
}
