import { assertEquals } from "../../tests/support/assert.ts";
import { tool } from "../../tests/support/helpers.ts";
import { loadPrivateKey } from "./private_key.ts";
import { rejectsWith } from "./test_util.ts";

const PASSPHRASE = "explicit-curve-test";
const passphrase = () => Promise.resolve(PASSPHRASE);

async function openssl(args: string[]): Promise<Uint8Array> {
  const run = await tool("openssl", args);
  if (run.code !== 0) throw new Error(`openssl ${args.join(" ")}: ${run.stderr}`);
  return run.stdout;
}

Deno.test("loadPrivateKey() refuses EC keys with explicit curve parameters as unsupported, in SEC1, PKCS#8 and encrypted PKCS#8, PEM and DER", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-explicit-" });
  try {
    const named = `${dir}/named.pem`;
    const explicit = `${dir}/explicit.pem`;
    await openssl([
      "genpkey",
      "-algorithm",
      "EC",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-out",
      named,
    ]);
    await openssl(["ec", "-in", named, "-param_enc", "explicit", "-out", explicit]);
    const forms: Record<string, Uint8Array> = {
      "sec1.pem": await Deno.readFile(explicit),
      "sec1.der": await openssl(["ec", "-in", explicit, "-outform", "DER"]),
      "pkcs8.pem": await openssl(["pkcs8", "-topk8", "-nocrypt", "-in", explicit]),
      "pkcs8.der": await openssl([
        "pkcs8",
        "-topk8",
        "-nocrypt",
        "-in",
        explicit,
        "-outform",
        "DER",
      ]),
      "encrypted.pem": await openssl(
        [
          "pkcs8",
          "-topk8",
          "-v2",
          "aes-256-cbc",
          "-in",
          explicit,
          "-passout",
          `pass:${PASSPHRASE}`,
        ],
      ),
    };
    for (const [file, bytes] of Object.entries(forms)) {
      const err = await rejectsWith(loadPrivateKey(bytes, file, passphrase), "E_UNSUPPORTED");
      assertEquals(
        err.message,
        `Cannot use ${file}: EC keys with explicit curve parameters are not supported; ` +
          "re-export it with a named curve: openssl ec -param_enc named_curve -in <key> -out <new key>",
      );
    }
    // The same key with its curve named loads.
    assertEquals(
      (await loadPrivateKey(await Deno.readFile(named), "named.pem", passphrase)).type,
      "ec",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
