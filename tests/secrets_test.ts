/**
 * Secrets never leave the process: every path that touches one runs with a
 * unique value, and stdout, stderr, the report, the journal and every file a
 * run wrote are scanned for it, for its base64 (at every byte alignment, so
 * it is found inside a longer base64 stream too), for its hex, and for the
 * AUTH PLAIN payload that carries it.
 *
 * Secrets: the SMTP password (Postfix rig, STARTTLS + AUTH: right and
 * wrong, from the environment, a password_file and a password_command), the
 * SparkPost API key (fake API: 200, 401, unreachable), private-key
 * passphrases (encrypted PKCS#8 and PKCS#12: right and wrong) and the
 * private keys' PEM lines themselves.
 *
 * @module
 */
import { bytesToLatin1, latin1ToBytes } from "../core/bytes.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { makePkcs12, makeTestPki, writeTestFile } from "../scripts/make_pki.ts";
import type { TestPki } from "../scripts/make_pki.ts";
import { runCli } from "../scripts/run_cli.ts";
import type { CliRun } from "../scripts/run_cli.ts";
import { contractReply, startFakeApi } from "../core/http/test_server.ts";
import type { FakeApi } from "../core/http/test_server.ts";
import { postfixAvailable, startPostfix } from "./support/rig.ts";
import type { PostfixRig } from "./support/rig.ts";
import { createPrivateKey } from "node:crypto";
import { CLEAN_ENV as SHARED_CLEAN_ENV } from "./support/batch.ts";

/** Variables a run must not inherit from the test runner's environment. */
const CLEAN_ENV: Record<string, string> = { ...SHARED_CLEAN_ENV, SMIMEPOST_PASSPHRASE: "" };

const unique = (label: string) => `${label}-${crypto.randomUUID()}`;

/** Every secret of the test, by a name that says where it was used. */
const SECRETS = {
  smtpPassword: unique("smtp-pass"),
  wrongSmtpPassword: unique("wrong-smtp-pass"),
  filePassword: unique("file-pass"),
  commandPassword: unique("cmd-pass"),
  configPassword: unique("config-pass"),
  apiKey: unique("sp-api-key"),
  wrongApiKey: unique("wrong-sp-key"),
  pkcs8Passphrase: unique("pkcs8-passphrase"),
  p12Passphrase: unique("p12-passphrase"),
  wrongPassphrase: unique("wrong-passphrase"),
};
const SMTP_USER = "secrets-user";

// ----------------------------------------------------------------- scanner

/**
 * The base64 text that `secret` turns into at each of the three byte
 * alignments within a longer stream, minus the characters shared with its
 * neighbours.
 */
function base64Cores(secret: Uint8Array): string[] {
  const cores: string[] = [];
  for (let shift = 0; shift < 3; shift++) {
    const padded = new Uint8Array(shift + secret.length);
    padded.set(secret, shift);
    const text = btoa(bytesToLatin1(padded)).replace(/=+$/, "");
    const core = text.slice(shift ? 4 : 0, text.length - 4);
    if (core.length >= 12) cores.push(core);
  }
  return cores;
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** What to look for: each form of each secret, named. */
class Scanner {
  readonly forms: { name: string; form: string }[] = [];
  readonly #findings: string[] = [];
  #scanned = 0;

  addSecret(name: string, value: string): void {
    const bytes = new TextEncoder().encode(value);
    this.forms.push({ name, form: value });
    this.forms.push({ name: `${name} (base64)`, form: btoa(bytesToLatin1(bytes)) });
    for (const core of base64Cores(bytes)) {
      this.forms.push({ name: `${name} (base64)`, form: core });
    }
    this.forms.push({ name: `${name} (hex)`, form: hex(bytes) });
    this.forms.push({ name: `${name} (HEX)`, form: hex(bytes).toUpperCase() });
  }

  /** The AUTH PLAIN payload (RFC 4616) for `user` and `password`, and AUTH LOGIN's. */
  addAuth(name: string, user: string, password: string): void {
    this.forms.push({ name: `${name} (AUTH PLAIN)`, form: btoa(`\0${user}\0${password}`) });
    this.forms.push({
      name: `${name} (AUTH PLAIN, authzid)`,
      form: btoa(`${user}\0${user}\0${password}`),
    });
  }

  /** A literal string (a PEM line of a private key). */
  addLiteral(name: string, text: string): void {
    if (text.length >= 16) this.forms.push({ name, form: text });
  }

  /** Looks for every form in `data`; returns what it found (and keeps it for assertClean). */
  scan(where: string, data: string | Uint8Array): string[] {
    this.#scanned++;
    const text = typeof data === "string" ? data : bytesToLatin1(data);
    const utf8 = typeof data === "string" ? data : new TextDecoder().decode(data);
    const found = this.forms.filter(({ form }) => text.includes(form) || utf8.includes(form))
      .map(({ name }) => `${name} in ${where}`);
    this.#findings.push(...found);
    return found;
  }

  scanRun(label: string, run: CliRun): string[] {
    return [
      ...this.scan(`${label}: stdout`, run.stdout),
      ...this.scan(`${label}: stderr`, run.stderr),
    ];
  }

  get scanned(): number {
    return this.#scanned;
  }

  assertClean(): void {
    assertEquals(this.#findings, [], `secrets leaked:\n${this.#findings.join("\n")}`);
  }
}

/**
 * Adds the private parts of a PEM private key: every line of an encrypted
 * key; the second half of an unencrypted RSA key's lines (private exponent,
 * primes); an EC key's private scalar.
 */
function addPrivateKey(scanner: Scanner, name: string, pem: string): void {
  const lines = pem.split("\n").filter((l) => l.length >= 16 && !l.startsWith("-----"));
  if (pem.includes("ENCRYPTED PRIVATE KEY")) {
    for (const line of lines) scanner.addLiteral(`key line of ${name}`, line);
    return;
  }
  const der = latin1ToBytes(atob(lines.join("")));
  // ECPrivateKey: version 1, then privateKey OCTET STRING.
  const ec = der.findIndex((b, i) =>
    b === 0x02 && der[i + 1] === 1 && der[i + 2] === 1 && der[i + 3] === 0x04
  );
  let secret: Uint8Array;
  // id-ecPublicKey 1.2.840.10045.2.1
  if (hex(der).includes("2a8648ce3d0201") && ec >= 0) {
    const at = ec + 5;
    secret = der.subarray(at, at + der[ec + 4]!);
  } else {
    for (const line of lines.slice(Math.ceil(lines.length / 2))) {
      scanner.addLiteral(`key line of ${name}`, line);
    }
    secret = der.subarray(der.length - 96);
  }
  for (const core of base64Cores(secret)) {
    scanner.addLiteral(`${name} (private bytes, base64)`, core);
  }
  scanner.forms.push({ name: `${name} (private bytes, hex)`, form: hex(secret) });
}

// --------------------------------------------------------------- the scene

interface Scene {
  dir: string;
  keys: string;
  pki: TestPki;
  scanner: Scanner;
  /** Files that hold a secret on purpose (inputs), relative to dir. */
  inputs: Set<string>;
  runs: { label: string; run: CliRun }[];
}

async function makeScene(): Promise<Scene> {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-secrets-" });
  await Deno.chmod(dir, 0o755);
  const keys = `${dir}/keys`;
  const pki = await makeTestPki(keys);
  // Their fixed passphrases are not unique to this test.
  for (const name of ["frank@example.com.p12", "grace@example.com.pem", "grace@example.com.crt"]) {
    await Deno.remove(`${keys}/${name}`);
  }
  const scanner = new Scanner();
  for (const [name, value] of Object.entries(SECRETS)) scanner.addSecret(name, value);
  for (
    const password of [
      SECRETS.smtpPassword,
      SECRETS.wrongSmtpPassword,
      SECRETS.filePassword,
      SECRETS.commandPassword,
    ]
  ) {
    scanner.addAuth("smtp login", SMTP_USER, password);
  }
  // henry: an encrypted PKCS#8 key; ivan: a PKCS#12 file; both with unique passphrases.
  const henry = await pki.issue({ email: "henry@example.com", key: "RSA-2048" });
  const encrypted = createPrivateKey({ key: henry.privateKeyPem, format: "pem" }).export({
    format: "pem",
    type: "pkcs8",
    cipher: "aes-256-cbc",
    passphrase: SECRETS.pkcs8Passphrase,
  }) as string;
  await writeTestFile(`${keys}/henry@example.com.crt`, henry.chainPem);
  await writeTestFile(`${keys}/henry@example.com.pem`, encrypted, true);
  const ivan = await pki.issue({ email: "ivan@example.com", key: "EC P-256" });
  // Its certificate beside it too, so encrypting to ivan needs no passphrase.
  await writeTestFile(`${keys}/ivan@example.com.crt`, ivan.chainPem);
  await writeTestFile(
    `${keys}/ivan@example.com.p12`,
    await makePkcs12(ivan.privateKey, [ivan.certificate, pki.intermediateDer], {
      password: SECRETS.p12Passphrase,
    }),
    true,
  );
  // The private keys themselves: the PEM lines that hold only private
  // material (an RSA key's first lines carry the public modulus, which the
  // certificate holds too), and the private bytes at every base64 alignment.
  for (const entry of Deno.readDirSync(keys)) {
    if (!entry.name.endsWith(".pem")) continue;
    addPrivateKey(scanner, `${entry.name}`, await Deno.readTextFile(`${keys}/${entry.name}`));
  }
  addPrivateKey(scanner, "henry's decrypted key", henry.privateKeyPem);
  addPrivateKey(scanner, "ivan's decrypted key", ivan.privateKeyPem);

  const files: Record<string, string> = {
    "pkcs8.pass": SECRETS.pkcs8Passphrase + "\n",
    "p12.pass": SECRETS.p12Passphrase + "\n",
    "wrong.pass": SECRETS.wrongPassphrase + "\n",
    "smtp.pass": SECRETS.smtpPassword + "\n",
    "file.pass": SECRETS.filePassword + "\n",
  };
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${dir}/${name}`, text, { mode: 0o600 });
  }
  const inputs = new Set(Object.keys(files));
  return { dir, keys, pki, scanner, inputs, runs: [] };
}

/**
 * Steps that run beside each other: Deno allows that only with the step
 * sanitizers off. The test around them keeps its sanitizers, so a leaked
 * socket or process still fails it.
 */
const BESIDE = { sanitizeOps: false, sanitizeResources: false, sanitizeExit: false } as const;

/**
 * Runs the CLI in the scene's folder with a clean environment, as a step
 * named `label`: it fails when the exit status is not one of `codes` or the
 * run's stdout or stderr holds a secret.
 */
async function cli(
  scene: Scene,
  t: Deno.TestContext,
  label: string,
  codes: number[],
  args: string[],
  env: Record<string, string> = {},
): Promise<void> {
  await t.step({
    name: label,
    ...BESIDE,
    fn: async () => {
      const run = await runCli(args, {
        cwd: scene.dir,
        env: { ...CLEAN_ENV, XDG_CONFIG_HOME: `${scene.dir}/xdg`, NO_COLOR: "1", ...env },
      });
      scene.runs.push({ label, run });
      const leaks = scene.scanner.scanRun(label, run);
      assert(
        codes.includes(run.code),
        `exit ${run.code}, expected ${
          codes.join(" or ")
        }\nstdout: ${run.text}\nstderr: ${run.stderr}`,
      );
      assert(!run.stderr.includes("internal error"), `internal error\n${run.stderr}`);
      assertEquals(leaks, [], `secrets leaked:\n${leaks.join("\n")}`);
    },
  });
}

async function writeInput(scene: Scene, name: string, text: string): Promise<void> {
  await Deno.writeTextFile(`${scene.dir}/${name}`, text, { mode: 0o600 });
}

/** Scans every file under the scene's folder that is not a secret-bearing input. */
async function scanWrittenFiles(scene: Scene): Promise<{ count: number; leaks: string[] }> {
  let count = 0;
  const leaks: string[] = [];
  const walk = async (folder: string, relative: string) => {
    for await (const entry of Deno.readDir(folder)) {
      const rel = relative ? `${relative}/${entry.name}` : entry.name;
      if (rel === "keys" || scene.inputs.has(rel)) continue;
      const path = `${folder}/${entry.name}`;
      if (entry.isDirectory) await walk(path, rel);
      else if (entry.isFile) {
        leaks.push(...scene.scanner.scan(`file ${rel}`, await Deno.readFile(path)));
        count++;
      }
    }
  };
  await walk(scene.dir, "");
  return { count, leaks };
}

function message(from: string, to: string[], subject: string): string {
  return `From: ${from}\nTo: ${to.join(", ")}\nSubject: ${subject}\n\nHello,\n.\nbye\n`;
}

// ------------------------------------------------------------------- paths

/** Sealing, verifying, decrypting, showing and checking keys with protected keys. */
async function keyPaths(t: Deno.TestContext, scene: Scene): Promise<void> {
  const k = ["--keys", scene.keys, "--trust", `${scene.keys}/trust.pem`];
  await writeInput(
    scene,
    "henry.eml",
    message("henry@example.com", ["alice@example.com", "ivan@example.com"], "pkcs8"),
  );
  await writeInput(scene, "ivan.eml", message("ivan@example.com", ["henry@example.com"], "p12"));

  // Sign as henry (encrypted PKCS#8) and encrypt to ivan too: right passphrase, file.
  await cli(scene, t, "send henry right passphrase", [0], [
    "send",
    "henry.eml",
    "--sign",
    "--encrypt",
    "--single-copy", // alice (RSA) and ivan (EC) in the one copy -o writes
    "-o",
    "henry.sealed.eml",
    "--passphrase-file",
    "pkcs8.pass",
    "--verbose",
    ...k,
  ]);
  // Wrong passphrase, file and environment.
  await cli(scene, t, "send henry wrong passphrase file", [77], [
    "send",
    "henry.eml",
    "--sign",
    "--passphrase-file",
    "wrong.pass",
    "--verbose",
    ...k,
  ]);
  await cli(scene, t, "send henry wrong passphrase env", [77], [
    "send",
    "henry.eml",
    "--sign",
    "-v",
    ...k,
  ], {
    SMIMEPOST_PASSPHRASE: SECRETS.wrongPassphrase,
  });
  // Sign as ivan (.p12): right passphrase from the environment, then wrong.
  await cli(scene, t, "send ivan right p12", [0], [
    "send",
    "ivan.eml",
    "--sign-detached",
    "--encrypt",
    "-o",
    "ivan.sealed.eml",
    "-v",
    ...k,
  ], { SMIMEPOST_PASSPHRASE: SECRETS.p12Passphrase });
  await cli(scene, t, "send ivan wrong p12", [77], ["send", "ivan.eml", "--sign", "-v", ...k], {
    SMIMEPOST_PASSPHRASE: SECRETS.wrongPassphrase,
  });

  // Decrypt and verify henry's message as ivan (p12) and ivan's as henry (PKCS#8).
  for (
    const [file, pass, keyFile] of [
      ["henry.sealed.eml", SECRETS.p12Passphrase, `${scene.keys}/ivan@example.com.p12`],
      ["ivan.sealed.eml", SECRETS.pkcs8Passphrase, `${scene.keys}/henry@example.com.pem`],
    ] as const
  ) {
    const env = { SMIMEPOST_PASSPHRASE: pass };
    await cli(scene, t, `decrypt ${file}`, [0], [
      "decrypt",
      file,
      "--key",
      keyFile,
      "-v",
      "-o",
      `${file}.out`,
      ...k,
    ], env);
    await cli(scene, t, `verify ${file}`, [0], ["verify", file, "--key", keyFile, "-v", ...k], env);
    await cli(scene, t, `show ${file}`, [0], ["show", file, "--key", keyFile, "-v", ...k], env);
    const wrong = { SMIMEPOST_PASSPHRASE: SECRETS.wrongPassphrase };
    const decrypt = ["decrypt", file, "--key", keyFile, "-v", ...k];
    await cli(scene, t, `decrypt ${file} wrong`, [77], decrypt, wrong);
    const show = ["show", file, "--key", keyFile, "-v", ...k];
    await cli(scene, t, `show ${file} wrong`, [0, 67, 77], show, wrong);
    await cli(
      scene,
      t,
      `verify ${file} wrong`,
      [0, 65, 67, 77],
      ["verify", file, "-v", ...k],
      wrong,
    );
  }
  // keys check: the passphrase fits one of the two protected files, not the other.
  await cli(scene, t, "keys check pkcs8 passphrase", [0, 65, 77], ["keys", "check", "-v", ...k], {
    SMIMEPOST_PASSPHRASE: SECRETS.pkcs8Passphrase,
  });
  await cli(scene, t, "keys check p12 passphrase", [0, 65, 77], [
    "keys",
    "check",
    "-v",
    "--passphrase-file",
    "p12.pass",
    ...k,
  ]);
  await cli(scene, t, "keys check wrong", [65, 77], ["keys", "check", "-v", ...k], {
    SMIMEPOST_PASSPHRASE: SECRETS.wrongPassphrase,
  });
}

/** The SparkPost API: 200, 401, and a host that does not answer. */
async function apiPaths(t: Deno.TestContext, scene: Scene, api: FakeApi): Promise<void> {
  const k = ["--keys", scene.keys, "--trust", `${scene.keys}/trust.pem`];
  await writeInput(scene, "api.eml", message("henry@example.com", ["bob@example.com"], "api"));
  const common = [
    "--sign",
    "--send_api",
    "--debug-smtp",
    "--verbose",
    "--passphrase-file",
    "pkcs8.pass",
    ...k,
  ];
  const cases: [string, Record<string, string>, number[], string[]][] = [
    ["api 200", { SPARKPOST_HOST: api.origin, SPARKPOST_API_KEY: SECRETS.apiKey }, [0], []],
    ["api 200 json", { SPARKPOST_HOST: api.origin, SPARKPOST_API_KEY: SECRETS.apiKey }, [0], [
      "--json",
    ]],
    ["api 401", { SPARKPOST_HOST: api.origin, SPARKPOST_API_KEY: SECRETS.wrongApiKey }, [77], []],
    ["api 401 json", { SPARKPOST_HOST: api.origin, SPARKPOST_API_KEY: SECRETS.wrongApiKey }, [77], [
      "--json",
    ]],
    [
      "api unreachable",
      { SPARKPOST_HOST: `http://127.0.0.1:${closedPort()}`, SPARKPOST_API_KEY: SECRETS.apiKey },
      [69, 75],
      [],
    ],
  ];
  for (const [label, env, codes, extra] of cases) {
    const slug = label.replaceAll(" ", "-");
    await cli(scene, t, label, codes, [
      "send",
      "api.eml",
      ...common,
      ...extra,
      "--report",
      `${slug}.report.json`,
      "--journal",
      `${slug}.journal.jsonl`,
    ], env);
  }
  // The API key in a config file, in the clear and via a command, through config check.
  await writeInput(
    scene,
    "api.toml",
    `[profiles.sp]\nplugin = "sparkpost-api"\nhost = "${api.origin}"\napi_key = "${SECRETS.apiKey}"\n` +
      `[profiles.sp-cmd]\nplugin = "sparkpost-api"\nhost = "${api.origin}"\n` +
      `api_key_command = "printf %s ${SECRETS.wrongApiKey}"\n`,
  );
  scene.inputs.add("api.toml");
  for (const profile of ["sp", "sp-cmd"]) {
    await cli(scene, t, `config check ${profile}`, [0], [
      "config",
      "check",
      "--config",
      "api.toml",
      "--profile",
      profile,
    ]);
    await cli(scene, t, `send profile ${profile}`, profile === "sp" ? [0] : [77], [
      "send",
      "api.eml",
      "--sign",
      "--config",
      "api.toml",
      "--profile",
      profile,
      "--debug-smtp",
      "-v",
      "--passphrase-file",
      "pkcs8.pass",
      "--report",
      `${profile}.report.json`,
      "--journal",
      `${profile}.journal.jsonl`,
      ...k,
    ]);
  }
}

/** Bad configuration that carries secrets: every refusal must mask them. */
async function configPaths(t: Deno.TestContext, scene: Scene): Promise<void> {
  const p = SECRETS.configPassword;
  const configs: Record<string, string> = {
    // An unknown key next to the password, a misspelt password key, a wrong type.
    "typo.toml":
      `[profiles.r]\nplugin = "smtp-generic"\nhost = "127.0.0.1"\npassword = "${p}"\nprot = 25\n`,
    "misspelt.toml":
      `[profiles.r]\nplugin = "smtp-generic"\nhost = "127.0.0.1"\npasword = "${p}"\n`,
    "type.toml":
      `[profiles.r]\nplugin = "smtp-generic"\nhost = "127.0.0.1"\nuser = "u"\npassword = ["${p}"]\n`,
    "number.toml":
      `[profiles.r]\nplugin = "smtp-generic"\nhost = "127.0.0.1"\nport = "x"\npassword = "${p}"\n`,
    "both.toml":
      `[profiles.r]\nplugin = "smtp-generic"\nhost = "127.0.0.1"\npassword = "${p}"\npassword_file = "file.pass"\n`,
    "plugin.toml": `[profiles.r]\nplugin = "smtp-generc"\npassword = "${p}"\n`,
    "broken.toml": `[profiles.r]\nplugin = "smtp-generic"\npassword = "${p}\nhost = "x"\n`,
    "cmdfail.toml": `[profiles.r]\nplugin = "smtp-generic"\nhost = "127.0.0.1"\nuser = "u"\n` +
      `password_command = "echo ${p}; echo ${p} >&2; exit 3"\n`,
    "nofile.toml":
      `[profiles.r]\nplugin = "smtp-generic"\nhost = "127.0.0.1"\nuser = "u"\npassword_file = "missing.pass"\n`,
    "tls.toml":
      `[profiles.r]\nplugin = "smtp-generic"\nhost = "127.0.0.1"\nuser = "u"\npassword = "${p}"\ntls = "${p}"\n`,
  };
  for (const [name, text] of Object.entries(configs)) {
    await writeInput(scene, name, text);
    scene.inputs.add(name);
    await cli(scene, t, `config check ${name}`, [0, 64, 78], [
      "config",
      "check",
      "--config",
      name,
      "--profile",
      "r",
    ]);
  }
  // Secrets given on the command line and in the environment.
  await cli(scene, t, "config check --option password", [0, 78], [
    "config",
    "check",
    "--config",
    "typo.toml",
    "--profile",
    "r",
    "--option",
    `password=${p}`,
    "--option",
    `user=${SMTP_USER}`,
  ]);
  await cli(scene, t, "config check env", [0, 78], ["config", "check", "--send_smtp"], {
    SMTP_HOST: "127.0.0.1",
    SMTP_USER: SMTP_USER,
    SMTP_PASSWORD: p,
    SMTP_PORT: "not-a-port",
  });
  await cli(scene, t, "config check --option bad", [64, 78], [
    "config",
    "check",
    "--send_smtp",
    "--option",
    "port=x",
    "--option",
    `password:${p}`,
  ]);
}

/** SMTP: the rig with STARTTLS + AUTH, right and wrong passwords, from env, file and command. */
async function smtpPaths(
  t: Deno.TestContext,
  scene: Scene,
  rig: PostfixRig | undefined,
): Promise<void> {
  const k = ["--keys", scene.keys, "--trust", `${scene.keys}/trust.pem`];
  await writeInput(
    scene,
    "smtp.eml",
    message("henry@example.com", ["secrets.bob@example.com"], "smtp"),
  );
  await Deno.mkdir(`${scene.dir}/batch`);
  for (let i = 0; i < 3; i++) {
    await writeInput(
      scene,
      `batch/${i}.eml`,
      message("henry@example.com", [`batch${i}@discard.invalid`], `b${i}`),
    );
  }
  const host = rig?.host ?? "127.0.0.1";
  const port = rig ? String(rig.submitPort) : String(closedPort());
  const smtpEnv = (password: string) => ({
    SMTP_HOST: host,
    SMTP_PORT: port,
    SMTP_USER: SMTP_USER,
    SMTP_PASSWORD: password,
    SMTP_TLS: "require",
    SMTP_CA_FILE: rig?.caFile ?? "",
  });
  const common = [
    "--sign",
    "--send_smtp",
    "--debug-smtp",
    "--verbose",
    "--passphrase-file",
    "pkcs8.pass",
    "--option",
    "tls_servername=localhost",
    ...k,
  ];
  const runs: [string, string[], Record<string, string>, number[]][] = [
    ["unreachable smtp", ["smtp.eml"], {
      ...smtpEnv(SECRETS.smtpPassword),
      SMTP_PORT: String(closedPort()),
    }, [69, 75]],
  ];
  if (rig) {
    runs.push(
      ["smtp right", ["smtp.eml"], smtpEnv(SECRETS.smtpPassword), [0]],
      ["smtp right json", ["smtp.eml", "--json"], smtpEnv(SECRETS.smtpPassword), [0]],
      [
        "smtp batch",
        ["batch", "--workers", "2", "--sessions", "2"],
        smtpEnv(SECRETS.smtpPassword),
        [0],
      ],
      ["smtp wrong 535", ["smtp.eml"], smtpEnv(SECRETS.wrongSmtpPassword), [77]],
      ["smtp wrong 535 json", ["smtp.eml", "--json"], smtpEnv(SECRETS.wrongSmtpPassword), [77]],
      ["smtp batch wrong", ["batch", "--retries", "0"], smtpEnv(SECRETS.wrongSmtpPassword), [
        69,
        75,
        77,
        65,
        3,
      ]],
    );
  }
  for (const [label, args, env, codes] of runs) {
    const slug = label.replaceAll(" ", "-");
    await cli(scene, t, label, codes, [
      "send",
      ...args,
      ...common,
      "--report",
      `${slug}.report.json`,
      "--journal",
      `${slug}.journal.jsonl`,
    ], env);
  }
  // Config profiles: password_file (right, then a wrong one) and password_command (wrong).
  const profile = (name: string, secret: string) =>
    `[profiles.${name}]\nplugin = "smtp-generic"\nhost = "${host}"\nport = ${port}\ntls = "require"\n` +
    `tls_ca_file = "${
      rig?.caFile ?? "ca.pem"
    }"\ntls_servername = "localhost"\nuser = "${SMTP_USER}"\n${secret}\n`;
  await writeInput(
    scene,
    "smtp.toml",
    profile("file-right", `password_file = "smtp.pass"`) +
      profile("file-wrong", `password_file = "file.pass"`) +
      profile("command-wrong", `password_command = "printf '%s\\\\n' ${SECRETS.commandPassword}"`),
  );
  scene.inputs.add("smtp.toml");
  for (
    const [name, codes] of [["file-right", [0]], ["file-wrong", [77]], ["command-wrong", [
      77,
    ]]] as const
  ) {
    const expected = rig ? [...codes] : [69, 75];
    await cli(scene, t, `config check ${name}`, [0], [
      "config",
      "check",
      "--config",
      "smtp.toml",
      "--profile",
      name,
    ]);
    await cli(scene, t, `send ${name}`, expected, [
      "send",
      "smtp.eml",
      "--sign",
      "--config",
      "smtp.toml",
      "--profile",
      name,
      "--debug-smtp",
      "-v",
      "--passphrase-file",
      "pkcs8.pass",
      "--report",
      `${name}.report.json`,
      "--journal",
      `${name}.journal.jsonl`,
      ...k,
    ]);
  }
}

/** A loopback port nothing listens on (a moment ago). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

// -------------------------------------------------------------------- test

const rigReady = (() => {
  try {
    return postfixAvailable();
  } catch {
    return false;
  }
})();

/** A step for one group of runs, beside the other group. */
function group(
  t: Deno.TestContext,
  name: string,
  fn: (t: Deno.TestContext) => Promise<void>,
): Promise<boolean> {
  return t.step({ name, ...BESIDE, fn });
}

Deno.test("secrets: no run prints or writes a password, API key, passphrase or private key", async (t) => {
  const scene = await makeScene();
  const api = await startFakeApi(contractReply(SECRETS.apiKey));
  const rig = rigReady
    ? await startPostfix({ SASL_USER: SMTP_USER, SASL_PASS: SECRETS.smtpPassword })
    : undefined;
  try {
    // Two chains at once, as before the steps: the runs are slow, the machine has cores.
    await Promise.all([
      (async () => {
        await group(t, "protected keys and passphrases", (t) => keyPaths(t, scene));
        await group(t, "configuration refusals", (t) => configPaths(t, scene));
      })(),
      (async () => {
        await group(t, "the transmissions API", (t) => apiPaths(t, scene, api));
        await group(t, "SMTP with AUTH", (t) => smtpPaths(t, scene, rig));
      })(),
    ]);
    await t.step("the files the runs wrote hold no secret", async () => {
      const { count, leaks } = await scanWrittenFiles(scene);
      assertEquals(leaks, [], `secrets leaked:\n${leaks.join("\n")}`);
      assert(count >= 20, `only ${count} files scanned`);
      for (
        const name of [
          "henry.sealed.eml.out",
          "ivan.sealed.eml.out",
          "smtp-right.journal.jsonl",
          "api-200.report.json",
        ]
      ) {
        if (!rig && name.startsWith("smtp")) continue;
        assert((await Deno.stat(`${scene.dir}/${name}`)).size > 0, `${name} was not written`);
      }
    });
    // The runs must really have used the secrets: spot checks that they reached the servers.
    await t.step("the secrets reached the servers", async () => {
      assert(scene.runs.length >= 40, `only ${scene.runs.length} runs`);
      const authorized = api.requests.filter((r) =>
        r.headers.get("authorization") === SECRETS.apiKey
      );
      assert(authorized.length >= 3, `the API key reached the fake API ${authorized.length} times`);
      if (rig) {
        await rig.waitForRecipient("secrets.bob@example.com", 20_000);
        const log = await Deno.readTextFile(`${rig.dir}/maillog`);
        assert(/authentication failed/i.test(log), "the rig saw no failed AUTH");
        assert(/sasl_username=secrets-user/.test(log), "the rig saw no successful AUTH");
      }
    });
  } finally {
    await api.close();
    await rig?.stop();
    await Deno.remove(scene.dir, { recursive: true });
  }
});

Deno.test("secrets: the scanner finds a secret in every form it looks for", () => {
  const scanner = new Scanner();
  const secret = unique("planted");
  scanner.addSecret("planted", secret);
  scanner.addAuth("planted login", SMTP_USER, secret);
  const bytes = new TextEncoder().encode(secret);
  const planted = [
    `x ${secret} y`,
    btoa(`xx${secret}yy`), // inside a longer base64 stream, shifted by two bytes
    btoa(`x${secret}`),
    `AUTH PLAIN ${btoa(`\0${SMTP_USER}\0${secret}`)}`,
    hex(bytes).toUpperCase(),
  ];
  for (const [i, text] of planted.entries()) scanner.scan(`plant ${i}`, text);
  let leaked = "";
  try {
    scanner.assertClean();
  } catch (err) {
    leaked = (err as Error).message;
  }
  for (let i = 0; i < planted.length; i++) {
    assert(leaked.includes(`plant ${i}`), `plant ${i} missed`);
  }
});

/** Quoted-printable (RFC 2045 6.7) of a string's UTF-8 bytes, as a server might echo it. */
function quotedPrintable(text: string): string {
  return [...new TextEncoder().encode(text)].map((b) =>
    b >= 33 && b <= 126 && b !== 61
      ? String.fromCharCode(b)
      : `=${b.toString(16).toUpperCase().padStart(2, "0")}`
  ).join("");
}

Deno.test("secrets: a server that echoes the password in every form gets it masked everywhere", async () => {
  const { startStrictServer } = await import("../core/smtp/test_server.ts");
  // '=' and non-ASCII make the quoted-printable forms differ from the raw one.
  const password = `${unique("echo-pass")}=\u00e9t\u00e9`;
  const plain = btoa(bytesToLatin1(new TextEncoder().encode(`\0${SMTP_USER}\0${password}`)));
  const echoes = [
    password,
    btoa(bytesToLatin1(new TextEncoder().encode(password))),
    plain,
    quotedPrintable(password),
    quotedPrintable(plain),
  ];
  const scanner = new Scanner();
  scanner.addSecret("echoed password", password);
  scanner.addAuth("echoed login", SMTP_USER, password);
  for (const [i, form] of echoes.entries()) {
    scanner.forms.push({ name: `echoed password (form ${i}, quoted-printable)`, form });
  }
  const server = await startStrictServer({
    extensions: ["AUTH PLAIN LOGIN", "PIPELINING", "8BITMIME"],
    reply: (line) => {
      if (line.startsWith("AUTH PLAIN ")) return `235 2.7.0 welcome ${line.slice(11)}`;
      const rcpt = /^RCPT TO:<r(\d)@example\.com>/i.exec(line);
      if (rcpt) {
        const i = Number(rcpt[1]);
        return i < echoes.length ? `550 5.7.1 no, ${echoes[i]}` : `451 4.7.1 later, ${plain}`;
      }
      return undefined;
    },
  });
  const dir = await Deno.makeTempDir({ prefix: "smimepost-echo-" });
  try {
    await Deno.mkdir(`${dir}/run`);
    for (let i = 0; i <= echoes.length; i++) {
      await Deno.writeTextFile(
        `${dir}/run/${i}.eml`,
        message("alice@example.com", [`r${i}@example.com`], `echo ${i}`),
      );
    }
    const run = await runCli([
      "send",
      "run",
      "--send_smtp",
      "--option",
      "allow_plaintext_auth=true",
      "--retries",
      "0",
      "--journal",
      "run.journal.jsonl",
      "--report",
      "run.report.json",
      "--json",
      "--debug-smtp",
    ], {
      cwd: dir,
      env: {
        ...CLEAN_ENV,
        SMTP_HOST: "127.0.0.1",
        SMTP_PORT: String(server.port),
        SMTP_TLS: "never",
        SMTP_USER,
        SMTP_PASSWORD: password,
        XDG_CONFIG_HOME: `${dir}/xdg`,
      },
    });
    // Five refused, one deferred until the retries ran out: 75 decides.
    assertEquals(run.code, 75, run.stderr);
    scanner.scanRun("send", run);
    const journal = await Deno.readTextFile(`${dir}/run.journal.jsonl`);
    // Every recipient's reply was echoed and masked, not dropped.
    assertEquals((journal.match(/"response":"[45]5?\d 5?4?\.7\.1 [^"]*\*\*\*\*/g) ?? []).length, 6);
    for (const name of ["run.journal.jsonl", "run.report.json"]) {
      scanner.scan(`file ${name}`, await Deno.readFile(`${dir}/${name}`));
    }
    scanner.assertClean();
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
