/**
 * A real Postfix for integration tests: starts scripts/rig/start-postfix.sh
 * in a fresh folder on free loopback ports and reads back what it delivered.
 *
 * ```ts
 * import { postfixAvailable, startPostfix } from "./rig.ts";
 *
 * // At the top level of a *_test.ts file (a doc example may not register tests).
 * function defineTest(): void {
 *   Deno.test({
 *     name: "...",
 *     ignore: !postfixAvailable(),
 *     fn: async () => {
 *       const rig = await startPostfix();
 *       try {
 *         // send to rig.host:rig.smtpPort, or STARTTLS+AUTH on rig.submitPort
 *         const { eml, meta } = await rig.waitForRecipient("a@example.net");
 *       } finally {
 *         await rig.stop();
 *       }
 *     },
 *   });
 * }
 * ```
 *
 * Needs root and the packages .ci/run installs; test permissions
 * --allow-run --allow-read --allow-write --allow-env --allow-net=127.0.0.1.
 *
 * @module
 */

const SCRIPTS = new URL("../../scripts/rig/", import.meta.url).pathname;

/** One message as the rig delivered it to one recipient. */
export interface Delivered {
  /** The stored message: LF line ends, otherwise the bytes that were sent. */
  eml: Uint8Array;
  /** queue_id, sender, recipient, sasl_username (with realm), client_address. */
  meta: Record<string, string>;
  /** Path of the .eml file. */
  path: string;
}

/** A running private Postfix instance. */
export interface PostfixRig {
  host: string;
  /** Plain SMTP, no TLS, no AUTH, relays anything from loopback. */
  smtpPort: number;
  /** STARTTLS required, then AUTH PLAIN/LOGIN with {@link user}/{@link password}. */
  submitPort: number;
  user: string;
  password: string;
  /** PEM of the rig's self-signed server certificate (trust it to verify TLS). */
  caFile: string;
  /** Folder the deliveries appear in. */
  maildir: string;
  /** Recipients in this domain are accepted and discarded. */
  discardDomain: string;
  /** The instance folder (config, queue, `maillog`). */
  dir: string;
  /**
   * Waits for the next delivery to `address` (case-insensitive). Each
   * delivery is returned once, so sending twice means waiting twice.
   *
   * @throws Error after `timeoutMs` (default 10 s), quoting the rig's log
   */
  waitForRecipient(address: string, timeoutMs?: number): Promise<Delivered>;
  /** Stops the instance and deletes its folder. Idempotent. */
  stop(): Promise<void>;
}

/** Why the rig cannot run here, or undefined when it can. */
export function postfixUnavailableReason(): string | undefined {
  if (currentUid() !== 0) return "the Postfix rig needs root";
  for (const tool of ["postfix", "saslpasswd2", "openssl", "swaks"]) {
    if (!findProgram(tool)) {
      return `${tool} is not installed (see scripts/rig/README.md or run .ci/run)`;
    }
  }
  return undefined;
}

let reported = false;

/**
 * True when Postfix tests can run. When they cannot, says why once on
 * stderr so the test can be skipped — except under CI=true, where the
 * packages are installed on purpose and a missing rig is a failure: then it
 * throws.
 *
 * @throws Error under CI=true when the rig cannot run
 */
export function postfixAvailable(): boolean {
  const reason = postfixUnavailableReason();
  if (reason === undefined) return true;
  if (Deno.env.get("CI") === "true") {
    throw new Error(`Cannot run the Postfix integration tests under CI=true: ${reason}`);
  }
  if (!reported) {
    reported = true;
    console.error(`skipping Postfix rig tests: ${reason}`);
  }
  return false;
}

/**
 * Starts a private Postfix instance in a new temporary folder on two free
 * loopback ports. Each call makes its own instance, so test files (even
 * running in parallel) do not share state; see {@link sharedPostfix} for
 * one instance per process.
 *
 * @throws Error when the instance does not come up, quoting the script
 */
export async function startPostfix(env: Record<string, string> = {}): Promise<PostfixRig> {
  let lastError: unknown;
  // A free port can be taken between our probe and Postfix's bind: retry.
  for (let attempt = 0; attempt < 3; attempt++) {
    const parent = await Deno.makeTempDir({ prefix: "smimepost-rig-" });
    // makeTempDir gives 0700; the postfix and nobody users must get through.
    await Deno.chmod(parent, 0o755);
    const dir = `${parent}/rig`;
    const [smtpPort, submitPort] = freePorts(2);
    const run = await new Deno.Command("bash", {
      args: [`${SCRIPTS}start-postfix.sh`, dir],
      env: { ...env, SMTP_PORT: String(smtpPort), SUBMIT_PORT: String(submitPort) },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (run.code === 0) return openRig(parent, dir);
    const stderr = new TextDecoder().decode(run.stderr).trim();
    lastError = new Error(`Cannot start the Postfix rig in ${dir}: ${stderr}`);
    await runScript("stop-postfix.sh", [dir]);
    await Deno.remove(parent, { recursive: true }).catch(() => {});
    if (!stderr.includes("already in use")) break;
  }
  throw lastError;
}

let shared: Promise<PostfixRig> | undefined;

/**
 * One instance for the whole test process, started on first use and
 * stopped when the process exits. Its `stop()` does nothing. It logs in
 * SparkPost's injection user, SMTP_Injection, with a fresh password, so the
 * sparkpost-smtp plugin can be tested against it too.
 */
export function sharedPostfix(): Promise<PostfixRig> {
  const env = { SASL_USER: "SMTP_Injection", SASL_PASS: `rig-${crypto.randomUUID()}` };
  shared ??= startPostfix(env).then((rig) => {
    globalThis.addEventListener("unload", () => {
      new Deno.Command("bash", {
        args: [`${SCRIPTS}stop-postfix.sh`, rig.dir, "--purge"],
        stdout: "null",
        stderr: "null",
      }).outputSync();
      try {
        Deno.removeSync(rig.dir.replace(/\/rig$/, ""), { recursive: true });
      } catch { /* already gone */ }
    });
    return { ...rig, stop: () => Promise.resolve() };
  });
  return shared;
}

async function openRig(parent: string, dir: string): Promise<PostfixRig> {
  const env = parseEnv(await Deno.readTextFile(`${dir}/env`));
  const get = (key: string): string => {
    const value = env[key];
    if (value === undefined) throw new Error(`${dir}/env has no ${key}`);
    return value;
  };
  const maildir = get("RIG_MAILDIR");
  const taken = new Set<string>();
  let stopping: Promise<void> | undefined;
  return {
    host: get("RIG_HOST"),
    smtpPort: Number(get("RIG_SMTP_PORT")),
    submitPort: Number(get("RIG_SUBMIT_PORT")),
    user: get("RIG_USER"),
    password: get("RIG_PASS"),
    caFile: get("RIG_CA"),
    maildir,
    discardDomain: get("RIG_DISCARD_DOMAIN"),
    dir,
    async waitForRecipient(address, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      const wanted = address.toLowerCase();
      while (true) {
        const found = await findDelivery(maildir, wanted, taken);
        if (found) return found;
        if (Date.now() > deadline) {
          const log = await Deno.readTextFile(`${dir}/maillog`).catch(() => "");
          throw new Error(
            `No delivery to ${address} within ${timeoutMs} ms; rig log tail:\n` +
              log.split("\n").slice(-15).join("\n"),
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    stop() {
      stopping ??= (async () => {
        await runScript("stop-postfix.sh", [dir, "--purge"]);
        await Deno.remove(parent, { recursive: true }).catch(() => {});
      })();
      return stopping;
    },
  };
}

/** The oldest not-yet-returned delivery to `wanted`, if any. */
async function findDelivery(
  maildir: string,
  wanted: string,
  taken: Set<string>,
): Promise<Delivered | undefined> {
  const metas: string[] = [];
  for await (const entry of Deno.readDir(maildir)) {
    if (entry.name.endsWith(".meta") && !taken.has(entry.name)) metas.push(entry.name);
  }
  // Names start with the queue id and then the delivery time in ns.
  metas.sort((a, b) => a.split(".")[1]?.localeCompare(b.split(".")[1] ?? "") ?? 0);
  for (const name of metas) {
    const meta = parseEnv(await Deno.readTextFile(`${maildir}/${name}`));
    if (meta.recipient?.toLowerCase() !== wanted) continue;
    taken.add(name);
    const path = `${maildir}/${name.slice(0, -".meta".length)}.eml`;
    return { eml: await Deno.readFile(path), meta, path };
  }
  return undefined;
}

/** Parses `KEY=value` lines (values taken literally up to the line end). */
function parseEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/** `n` distinct loopback ports that were free a moment ago. */
function freePorts(n: number): number[] {
  const listeners = Array.from(
    { length: n },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  const ports = listeners.map((listener) => (listener.addr as Deno.NetAddr).port);
  for (const listener of listeners) listener.close();
  return ports;
}

async function runScript(name: string, args: string[]): Promise<void> {
  await new Deno.Command("bash", {
    args: [`${SCRIPTS}${name}`, ...args],
    stdout: "null",
    stderr: "null",
  })
    .output();
}

function currentUid(): number | undefined {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
    if (uid !== undefined) return Number(uid);
  } catch { /* not Linux: ask id(1) */ }
  try {
    const out = new Deno.Command("id", { args: ["-u"], stdout: "piped", stderr: "null" })
      .outputSync();
    return Number(new TextDecoder().decode(out.stdout).trim());
  } catch {
    return undefined;
  }
}

function findProgram(name: string): boolean {
  const path = (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/sbin"]);
  return path.some((folder) => {
    try {
      return folder !== "" && Deno.statSync(`${folder}/${name}`).isFile;
    } catch {
      return false;
    }
  });
}
