/**
 * The forged-signature corpus: each case is a signed message built to fool
 * a verifier (look-alike signer, cross-issued CAs, wrong EKU, name
 * constraints, expired or backdated signer, unknown critical extensions,
 * From that is not the signer). Two judges nobody here wrote,
 * `openssl cms -verify` and NSS `cmsutil -D` (Thunderbird's library), see
 * every case; smimepost never trusts what both refuse, and each case's
 * expected verdict is asserted too.
 */
import { join } from "node:path";
import { assert, assertEquals } from "./support/assert.ts";
import { runCli } from "../scripts/run_cli.ts";
import { openssl } from "./support/helpers.ts";
import { sign } from "../core/cms/sign.ts";
import { pkcs7MimeEntity } from "../core/smime/entity.ts";
import {
  forge,
  type Forged,
  forgeHierarchy,
  NAME_CONSTRAINTS,
  permitEmail,
  UNKNOWN_EXTENSION,
} from "../core/trust/test_forge.ts";

const DAY = 86_400_000;
const { root, inter, signer } = await forgeHierarchy("alice@corp.example");

interface Case {
  name: string;
  /** The signer and its key. */
  signer: Forged;
  /** Certificates the message carries besides the signer. */
  extra: Forged[];
  from: string;
  trusted: boolean;
  /** Sign with our own signer at this signingTime (openssl always says now). */
  signingTime?: Date;
}

async function cases(): Promise<Case[]> {
  const lookalike = await forge({ subject: "CN=alice,O=forge", email: "alice@corp.example" });
  const x = await forge({ subject: "CN=X CA", ca: true });
  const y = await forge({ subject: "CN=Y CA", ca: true, issuer: x });
  const xByY = await forge({ subject: "CN=X CA", ca: true, issuer: y, keys: x.keys });
  const cycled = await forge({ subject: "CN=cyc", issuer: x, email: "alice@corp.example" });
  const tls = await forge({
    subject: "CN=tls",
    issuer: inter,
    email: "alice@corp.example",
    eku: ["1.3.6.1.5.5.7.3.1"],
  });
  const corpCa = await forge({
    subject: "CN=Corp CA",
    ca: true,
    issuer: root,
    extra: [[NAME_CONSTRAINTS, true, permitEmail("corp.example")]],
  });
  const outside = await forge({ subject: "CN=mallory", issuer: corpCa, email: "m@evil.example" });
  const inside = await forge({ subject: "CN=bob", issuer: corpCa, email: "bob@corp.example" });
  const expired = await forge({
    subject: "CN=old",
    issuer: inter,
    email: "old@corp.example",
    notBeforeDays: -400,
    notAfterDays: -2,
  });
  const critical = await forge({
    subject: "CN=crit",
    issuer: inter,
    email: "crit@corp.example",
    extra: [UNKNOWN_EXTENSION],
  });
  const stranger = await forge({ subject: "CN=stranger", email: "s@x.example" });
  return [
    { name: "good signer", signer, extra: [inter], from: "alice@corp.example", trusted: true },
    {
      name: "good signer plus an unrelated certificate",
      signer,
      extra: [stranger, inter],
      from: "alice@corp.example",
      trusted: true,
    },
    {
      name: "self-signed look-alike with the real intermediate",
      signer: lookalike,
      extra: [inter],
      from: "alice@corp.example",
      trusted: false,
    },
    {
      name: "cross-issued cycle",
      signer: cycled,
      extra: [xByY, y, x],
      from: "alice@corp.example",
      trusted: false,
    },
    { name: "wrong EKU", signer: tls, extra: [inter], from: "alice@corp.example", trusted: false },
    {
      name: "name-constraint violation",
      signer: outside,
      extra: [corpCa],
      from: "m@evil.example",
      trusted: false,
    },
    {
      name: "inside the name constraints",
      signer: inside,
      extra: [corpCa],
      from: "bob@corp.example",
      trusted: true,
    },
    {
      name: "expired signer",
      signer: expired,
      extra: [inter],
      from: "old@corp.example",
      trusted: false,
    },
    {
      name: "backdated signingTime",
      signer: expired,
      extra: [inter],
      from: "old@corp.example",
      trusted: false,
      signingTime: new Date(Date.now() - 100 * DAY),
    },
    {
      name: "unknown critical extension",
      signer: critical,
      extra: [inter],
      from: "crit@corp.example",
      trusted: false,
    },
    {
      name: "From is not the signer",
      signer,
      extra: [inter],
      from: "ceo@corp.example",
      trusted: false,
    },
  ];
}

const CONTENT = new TextEncoder().encode(
  "Content-Type: text/plain\r\n\r\nPay 1,000 to account 42.\r\n",
);

async function signedDer(c: Case, dir: string): Promise<Uint8Array> {
  if (c.signingTime) {
    return await sign(CONTENT, {
      certificate: c.signer.der,
      chain: c.extra.map((e) => e.der),
      privateKey: c.signer.pkcs8,
    }, { detached: false, signingTime: c.signingTime });
  }
  await Deno.writeTextFile(join(dir, "signer.crt"), c.signer.certPem);
  await Deno.writeTextFile(join(dir, "signer.key"), c.signer.keyPem);
  await Deno.writeTextFile(join(dir, "extra.pem"), c.extra.map((e) => e.certPem).join(""));
  await Deno.writeFile(join(dir, "content.txt"), CONTENT);
  const out = join(dir, "signed.p7m");
  const args = [
    "cms",
    "-sign",
    "-nodetach",
    "-binary",
    "-md",
    "sha256",
    "-in",
    `${dir}/content.txt`,
  ];
  args.push("-signer", `${dir}/signer.crt`, "-inkey", `${dir}/signer.key`);
  if (c.extra.length) args.push("-certfile", `${dir}/extra.pem`);
  const run = await openssl([...args, "-outform", "DER", "-out", out]);
  assertEquals(run.code, 0, run.stderr);
  return await Deno.readFile(out);
}

async function nssDb(dir: string): Promise<string> {
  const db = `sql:${dir}/nssdb`;
  await Deno.mkdir(`${dir}/nssdb`);
  for (
    const args of [
      ["-N", "-d", db, "--empty-password"],
      ["-A", "-d", db, "-n", "root", "-t", "C,C,C", "-i", `${dir}/root.pem`],
    ]
  ) {
    const { code, stderr } = await new Deno.Command("certutil", { args, stderr: "piped" }).output();
    assertEquals(code, 0, new TextDecoder().decode(stderr));
  }
  return db;
}

Deno.test("forged signatures: smimepost never trusts what openssl and NSS both refuse", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-forged-" });
  try {
    await Deno.writeTextFile(`${dir}/root.pem`, root.certPem);
    await Deno.mkdir(`${dir}/keys`);
    const db = await nssDb(dir);
    const table: string[] = [];
    for (const c of await cases()) {
      const der = await signedDer(c, dir);
      await Deno.writeFile(`${dir}/case.p7m`, der);
      const eml = new Uint8Array([
        ...new TextEncoder().encode(`From: ${c.from}\r\nTo: bank@corp.example\r\n`),
        ...pkcs7MimeEntity(der, "signed-data"),
      ]);
      await Deno.writeFile(`${dir}/case.eml`, eml);
      const ossl = await openssl([
        "cms",
        "-verify",
        "-inform",
        "DER",
        "-in",
        `${dir}/case.p7m`,
        "-CAfile",
        `${dir}/root.pem`,
        "-purpose",
        "smimesign",
        "-out",
        "/dev/null",
      ]);
      const nss = await new Deno.Command("cmsutil", {
        args: ["-D", "-i", `${dir}/case.p7m`, "-d", db, "-u", "4", "-o", "/dev/null"],
        stdout: "null",
        stderr: "null",
      }).output();
      const ours = await runCli([
        "verify",
        "case.eml",
        "--trust",
        "root.pem",
        "--keys",
        "keys",
        "--json",
      ], { cwd: dir });
      const verdict = JSON.parse(ours.text.trim().split("\n")[0]!) as { trusted: boolean };
      table.push(
        `${c.name}: openssl ${ossl.code === 0}, nss ${
          nss.code === 0
        }, smimepost ${verdict.trusted}`,
      );
      assertEquals(verdict.trusted, c.trusted, `${c.name}: ${ours.text}${ours.stderr}`);
      assertEquals(ours.code, c.trusted ? 0 : 65, `${c.name}: exit code`);
      if (ossl.code !== 0 && nss.code !== 0) {
        assert(!verdict.trusted, `${c.name}: both judges refuse it`);
      }
      if (c.name === "good signer") {
        assert(
          ossl.code === 0 && nss.code === 0,
          `the judges accept the good case: ${ossl.stderr}`,
        );
      }
    }
    console.log(table.join("\n"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
