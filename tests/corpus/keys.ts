/**
 * The key and certificate half of the refusal corpus. Each case makes its
 * own key folder at test time (nothing with an expiry is committed) from the
 * test PKI's `issue()` helper, its PKCS#12 writer, or openssl for the key
 * types WebCrypto can't make (Ed25519, DSA).
 *
 * The odd identity is zed@example.com: as the signer (From) for signing
 * cases, as the recipient (To) for encryption cases. Every folder also holds
 * alice's and bob's good files, so only the odd one can be the reason.
 *
 * @module
 */
import { createPrivateKey } from "node:crypto";
import { join } from "node:path";
import { makePkcs12, writeTestFile } from "../../scripts/make_pki.ts";
import type { LeafSpec, TestPki } from "../../scripts/make_pki.ts";

export const ZED = "zed@example.com";
const DAY = 86_400_000;
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
/** x509 KeyUsageFlags values (RFC 5280 bit order, as @peculiar/x509 numbers them). */
const KU = { digitalSignature: 1, keyEncipherment: 4, keyAgreement: 16 } as const;

/** What a case's setup gets: the PKI and the folder to fill. */
export interface KeyContext {
  pki: TestPki;
  /** The case's key folder (already holding alice's and bob's files). */
  dir: string;
  /** A scratch folder outside the key folder (passphrase files and such). */
  scratch: string;
}

/** One key-folder case: what to make, how to run send, what must happen. */
export interface KeyCase {
  name: string;
  /** "sign": From zed, `--sign`; "encrypt": From alice To zed, `--encrypt`. */
  role: "sign" | "encrypt";
  /** The signer instead of zed. */
  from?: string;
  setup(ctx: KeyContext): Promise<void>;
  /** Extra flags; `{scratch}` is replaced by the scratch folder. */
  args?: string[];
  env?: Record<string, string>;
  /** Expected exit status; 0 means the message must be sealed. */
  code: number;
  /** Parts the one stderr line must contain; `{dir}` is the key folder. */
  names?: string[];
  /** Strings that must appear nowhere in the output (secrets). */
  secrets?: (ctx: KeyContext) => Promise<string[]>;
  /** Skip (e.g. when the environment already has a passphrase). */
  ignore?: boolean;
  /** Also refused with --send_smtp to a live sink, which must receive nothing. */
  deliver?: boolean;
}

/** Writes zed's certificate (PEM chain) and key, issued with `spec`. */
async function issueZed(ctx: KeyContext, spec: Partial<LeafSpec> = {}) {
  const id = await ctx.pki.issue({ email: ZED, key: "RSA-2048", ...spec });
  await writeTestFile(join(ctx.dir, `${ZED}.crt`), id.chainPem);
  await writeTestFile(join(ctx.dir, `${ZED}.pem`), id.privateKeyPem, true);
  return id;
}

/** zed with a key encrypted under "zed-pass". */
async function encryptedZed(ctx: KeyContext): Promise<void> {
  const id = await issueZed(ctx);
  const encrypted = createPrivateKey({ key: id.privateKeyPem, format: "pem" }).export({
    format: "pem",
    type: "pkcs8",
    cipher: "aes-256-cbc",
    passphrase: "zed-pass",
  }) as string;
  await writeTestFile(join(ctx.dir, `${ZED}.pem`), encrypted, true);
}

async function run(cmd: string, args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** A self-signed S/MIME certificate for zed with a key openssl makes (`-newkey` argument). */
async function opensslZed(ctx: KeyContext, newkey: string): Promise<void> {
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    newkey,
    "-nodes",
    "-days",
    "30",
    "-keyout",
    `${ZED}.pem`,
    "-out",
    `${ZED}.crt`,
    "-subj",
    "/CN=zed",
    "-addext",
    `subjectAltName=email:${ZED}`,
    "-addext",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    "-addext",
    "extendedKeyUsage=emailProtection",
  ], ctx.dir);
  await Deno.chmod(join(ctx.dir, `${ZED}.pem`), 0o600);
}

const PEM_KEY = /-----BEGIN PRIVATE KEY-----\n([A-Za-z0-9+/=\n]+)-----END/;

/** Key and certificate cases. */
export const keyCases: KeyCase[] = [
  // ---- passphrases
  {
    name: "an encrypted key with a wrong --passphrase-file",
    role: "sign",
    from: "grace@example.com",
    setup: async (ctx) => {
      for (const ext of ["crt", "pem"]) {
        const name = `grace@example.com.${ext}`;
        await Deno.copyFile(join(ctx.pki.dir, name), join(ctx.dir, name));
      }
      await Deno.chmod(join(ctx.dir, "grace@example.com.pem"), 0o600);
      await Deno.writeTextFile(join(ctx.scratch, "pass.txt"), "not-graces-Secret-31c4\n");
    },
    args: ["--passphrase-file", "{scratch}/pass.txt"],
    code: 77,
    names: ["grace@example.com.pem", "passphrase"],
    secrets: () => Promise.resolve(["not-graces-Secret-31c4"]),
  },
  {
    name: "a PKCS#12 file with a wrong passphrase",
    deliver: true,
    role: "sign",
    setup: async (ctx) => {
      const id = await ctx.pki.issue({ email: ZED, key: "RSA-2048" });
      const p12 = await makePkcs12(id.privateKey, [id.certificate, ctx.pki.intermediateDer], {
        password: "right-p12-Pass",
      });
      await writeTestFile(join(ctx.dir, `${ZED}.p12`), p12, true);
    },
    env: { SMIMEPOST_PASSPHRASE: "wrong-p12-Pass-88e1" },
    code: 77,
    names: [`${ZED}.p12`],
    secrets: () => Promise.resolve(["wrong-p12-Pass-88e1", "right-p12-Pass"]),
  },
  {
    name: "an encrypted key and no passphrase anywhere (no terminal)",
    role: "sign",
    setup: (ctx) => encryptedZed(ctx),
    code: 77,
    names: [`${ZED}.pem`, "encrypted"],
    ignore: Deno.env.get("SMIMEPOST_PASSPHRASE") !== undefined,
  },
  {
    name: "a --passphrase-file that does not exist",
    role: "sign",
    setup: (ctx) => encryptedZed(ctx),
    args: ["--passphrase-file", "{scratch}/no-such-pass.txt"],
    code: 66,
    names: ["no-such-pass.txt"],
  },
  // ---- certificate and key do not belong together
  {
    name: "a key that does not match its certificate",
    deliver: true,
    role: "sign",
    setup: async (ctx) => {
      await issueZed(ctx);
      const other = await ctx.pki.issue({ email: ZED, key: "RSA-2048" });
      await writeTestFile(join(ctx.dir, `${ZED}.pem`), other.privateKeyPem, true);
    },
    code: 65,
    names: [`${ZED}.pem`, `${ZED}.crt`, "does not match"],
  },
  // ---- validity
  {
    name: "an expired signing certificate",
    deliver: true,
    role: "sign",
    setup: (ctx) =>
      issueZed(ctx, {
        notBefore: new Date(Date.now() - 60 * DAY),
        notAfter: new Date(Date.now() - 2 * DAY),
      }).then(() => {}),
    code: 65,
    names: [ZED, "expired"],
  },
  {
    name: "a signing certificate not yet valid",
    role: "sign",
    setup: (ctx) =>
      issueZed(ctx, {
        notBefore: new Date(Date.now() + 2 * DAY),
        notAfter: new Date(Date.now() + 60 * DAY),
      }).then(() => {}),
    code: 65,
    names: [ZED, "not valid before"],
  },
  {
    name: "a recipient certificate not yet valid",
    role: "encrypt",
    setup: (ctx) =>
      issueZed(ctx, {
        notBefore: new Date(Date.now() + 2 * DAY),
        notAfter: new Date(Date.now() + 60 * DAY),
      }).then(() => {}),
    code: 65,
    names: [ZED, "not valid before"],
  },
  // ---- what the certificate is for
  {
    name: "a signing certificate for another address",
    role: "sign",
    setup: (ctx) => issueZed(ctx, { email: "someone@else.example" }).then(() => {}),
    code: 65,
    names: [ZED, "someone@else.example"],
  },
  {
    name: "a CA certificate used as a user certificate",
    role: "sign",
    setup: (ctx) => issueZed(ctx, { ca: true }).then(() => {}),
    code: 65,
    names: [ZED, "CA certificate"],
  },
  {
    name: "a recipient certificate without the emailProtection EKU",
    role: "encrypt",
    setup: (ctx) => issueZed(ctx, { extKeyUsage: [SERVER_AUTH] }).then(() => {}),
    code: 65,
    names: [ZED, "emailProtection"],
  },
  {
    name: "a signing certificate whose keyUsage lacks digitalSignature",
    role: "sign",
    setup: (ctx) => issueZed(ctx, { keyUsage: KU.keyEncipherment }).then(() => {}),
    code: 65,
    names: [ZED, "digitalSignature"],
  },
  {
    name: "an RSA recipient certificate whose keyUsage lacks keyEncipherment",
    role: "encrypt",
    setup: (ctx) => issueZed(ctx, { keyUsage: KU.digitalSignature }).then(() => {}),
    code: 65,
    names: [ZED, "keyEncipherment"],
  },
  {
    name: "a self-signed certificate that does not chain to --trust",
    role: "sign",
    setup: (ctx) => issueZed(ctx, { selfSigned: true }).then(() => {}),
    code: 65,
    names: [ZED, "self-signed"],
  },
  // ---- damaged files
  {
    name: "a truncated PEM certificate",
    role: "encrypt",
    setup: async (ctx) => {
      const id = await issueZed(ctx);
      await writeTestFile(join(ctx.dir, `${ZED}.crt`), id.chainPem.slice(0, 300));
    },
    code: 65,
    names: [`${ZED}.crt`, "truncated"],
  },
  {
    name: "a truncated PEM private key",
    role: "sign",
    setup: async (ctx) => {
      const id = await issueZed(ctx);
      await writeTestFile(join(ctx.dir, `${ZED}.pem`), id.privateKeyPem.slice(0, 400), true);
    },
    code: 65,
    names: [`${ZED}.pem`, "truncated"],
  },
  {
    name: "a PEM private key with its base64 cut mid-way (END line kept)",
    role: "sign",
    setup: async (ctx) => {
      const id = await issueZed(ctx);
      const lines = id.privateKeyPem.trimEnd().split("\n");
      const cut = [...lines.slice(0, 8), lines.at(-1)!].join("\n") + "\n";
      await writeTestFile(join(ctx.dir, `${ZED}.pem`), cut, true);
    },
    code: 65,
    names: [`${ZED}.pem`],
  },
  {
    name: "an empty .crt file",
    role: "encrypt",
    setup: async (ctx) => {
      await issueZed(ctx);
      await writeTestFile(join(ctx.dir, `${ZED}.crt`), "");
    },
    code: 65,
    names: [`${ZED}.crt`],
  },
  {
    name: "a .crt that holds a private key (never echoed)",
    deliver: true,
    role: "encrypt",
    setup: async (ctx) => {
      const id = await issueZed(ctx);
      await writeTestFile(join(ctx.dir, `${ZED}.crt`), id.privateKeyPem);
    },
    code: 65,
    names: [`${ZED}.crt`, "no certificate"],
    secrets: async (ctx) => {
      const pem = await Deno.readTextFile(join(ctx.dir, `${ZED}.crt`));
      return PEM_KEY.exec(pem)![1]!.split("\n").filter((l) => l.length > 20);
    },
  },
  {
    name: "a .crt of random bytes that start like DER",
    role: "encrypt",
    setup: async (ctx) => {
      await issueZed(ctx);
      const junk = crypto.getRandomValues(new Uint8Array(600));
      junk[0] = 0x30;
      await writeTestFile(join(ctx.dir, `${ZED}.crt`), junk);
    },
    code: 65,
    names: [`${ZED}.crt`],
  },
  {
    name: "a key file that holds a certificate",
    role: "sign",
    setup: async (ctx) => {
      const id = await issueZed(ctx);
      await writeTestFile(join(ctx.dir, `${ZED}.pem`), id.chainPem, true);
    },
    code: 65,
    names: [`${ZED}.pem`, "no private key"],
  },
  {
    name: "an empty key file",
    role: "sign",
    setup: async (ctx) => {
      await issueZed(ctx);
      await writeTestFile(join(ctx.dir, `${ZED}.pem`), "", true);
    },
    code: 65,
    names: [`${ZED}.pem`],
  },
  // ---- key types
  {
    name: "an Ed25519 certificate and key",
    role: "sign",
    setup: (ctx) => opensslZed(ctx, "ed25519"),
    code: 65,
    names: [ZED, "not supported"],
  },
  {
    name: "an Ed25519 recipient certificate",
    deliver: true,
    role: "encrypt",
    setup: (ctx) => opensslZed(ctx, "ed25519"),
    code: 65,
    names: [ZED, "not supported"],
  },
  {
    name: "a DSA certificate and key",
    role: "sign",
    setup: async (ctx) => {
      await run("openssl", [
        "genpkey",
        "-genparam",
        "-algorithm",
        "DSA",
        "-pkeyopt",
        "dsa_paramgen_bits:1024",
        "-out",
        "dsa.param",
      ], ctx.scratch);
      await opensslZed(ctx, `dsa:${join(ctx.scratch, "dsa.param")}`);
    },
    code: 65,
    names: [ZED, "not supported"],
  },
  {
    name: "a good RSA certificate with an Ed25519 key file beside it",
    role: "sign",
    setup: async (ctx) => {
      await issueZed(ctx);
      await run("openssl", [
        "genpkey",
        "-algorithm",
        "ed25519",
        "-out",
        join(ctx.dir, `${ZED}.pem`),
      ], ctx.scratch);
      await Deno.chmod(join(ctx.dir, `${ZED}.pem`), 0o600);
    },
    code: 65,
    names: [`${ZED}.pem`, "not supported"],
  },
  // ---- files that are not files
  {
    name: "a folder named like the key file",
    role: "sign",
    setup: async (ctx) => {
      await issueZed(ctx);
      await Deno.remove(join(ctx.dir, `${ZED}.pem`));
      await Deno.mkdir(join(ctx.dir, `${ZED}.pem`));
    },
    code: 66,
    names: [`${ZED}.pem`, "folder"],
  },
  {
    name: "a dangling symlink as the key file",
    role: "sign",
    setup: async (ctx) => {
      await issueZed(ctx);
      await Deno.remove(join(ctx.dir, `${ZED}.pem`));
      await Deno.symlink(join(ctx.scratch, "gone.pem"), join(ctx.dir, `${ZED}.pem`));
    },
    code: 66,
    names: [`${ZED}.pem`],
  },
  {
    name: "a dangling symlink as the certificate",
    role: "encrypt",
    setup: async (ctx) => {
      await issueZed(ctx);
      await Deno.remove(join(ctx.dir, `${ZED}.crt`));
      await Deno.symlink(join(ctx.scratch, "gone.crt"), join(ctx.dir, `${ZED}.crt`));
    },
    code: 66,
    names: [`${ZED}.crt`],
  },
  {
    name: "a key file with mode 0644 (refused as ssh does)",
    deliver: true,
    role: "sign",
    setup: async (ctx) => {
      await issueZed(ctx);
      await Deno.chmod(join(ctx.dir, `${ZED}.pem`), 0o644);
    },
    code: 77,
    names: [`${ZED}.pem`, "0644", "--allow-insecure-key-permissions"],
  },
  {
    name: "a PKCS#12 file with mode 0640",
    role: "sign",
    setup: async (ctx) => {
      const id = await ctx.pki.issue({ email: ZED, key: "RSA-2048" });
      const certs = [id.certificate, ctx.pki.intermediateDer];
      const p12 = await makePkcs12(id.privateKey, certs, { password: "p" });
      await writeTestFile(join(ctx.dir, `${ZED}.p12`), p12);
      await Deno.chmod(join(ctx.dir, `${ZED}.p12`), 0o640);
    },
    env: { SMIMEPOST_PASSPHRASE: "p" },
    code: 77,
    names: [`${ZED}.p12`, "0640"],
  },
  // ---- PKCS#12 without its key
  {
    name: "a PKCS#12 file without a key, for signing",
    role: "sign",
    setup: async (ctx) => {
      const id = await ctx.pki.issue({ email: ZED, key: "RSA-2048" });
      const p12 = await makePkcs12(undefined, [id.certificate, ctx.pki.intermediateDer], {
        password: "nokey",
      });
      await writeTestFile(join(ctx.dir, `${ZED}.p12`), p12, true);
    },
    env: { SMIMEPOST_PASSPHRASE: "nokey" },
    code: 67,
    names: [`${ZED}.p12`, "no private key"],
  },
];

/**
 * A DER file holds one certificate, so its intermediate can't travel with it:
 * these cases trust the intermediate as well as the root.
 */
const TRUST_INTERMEDIATE = ["--trust", "{scratch}/trust-and-intermediate.pem"];

async function trustIntermediate(ctx: KeyContext): Promise<void> {
  const root = await Deno.readTextFile(ctx.pki.trustFile);
  const intermediate = await Deno.readTextFile(ctx.pki.intermediateFile);
  await Deno.writeTextFile(join(ctx.scratch, "trust-and-intermediate.pem"), root + intermediate);
}

/** Key-folder cases that must succeed (and openssl must open the result). */
export const acceptedKeyCases: KeyCase[] = [
  {
    name: "a DER certificate where PEM is usual, for signing",
    role: "sign",
    setup: async (ctx) => {
      const id = await issueZed(ctx);
      await writeTestFile(join(ctx.dir, `${ZED}.crt`), id.certificate);
      await trustIntermediate(ctx);
    },
    args: TRUST_INTERMEDIATE,
    code: 0,
  },
  {
    name: "a DER recipient certificate",
    role: "encrypt",
    setup: async (ctx) => {
      const id = await issueZed(ctx);
      await Deno.remove(join(ctx.dir, `${ZED}.pem`));
      await writeTestFile(join(ctx.dir, `${ZED}.cer`), id.certificate);
      await Deno.remove(join(ctx.dir, `${ZED}.crt`));
      await trustIntermediate(ctx);
    },
    args: TRUST_INTERMEDIATE,
    code: 0,
  },
  {
    name: "a PKCS#12 file without a key, for encryption",
    role: "encrypt",
    setup: async (ctx) => {
      const id = await ctx.pki.issue({ email: ZED, key: "RSA-2048" });
      const p12 = await makePkcs12(undefined, [id.certificate, ctx.pki.intermediateDer], {
        password: "nokey",
      });
      await writeTestFile(join(ctx.dir, `${ZED}.p12`), p12, true);
    },
    env: { SMIMEPOST_PASSPHRASE: "nokey" },
    code: 0,
  },
];
