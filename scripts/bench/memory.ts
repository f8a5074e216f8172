/**
 * Peak memory of one large message in `deno task bench`: a ~50 MB plain
 * message sealed (sign + encrypt, one copy) by one CLI process to stdout, to
 * a file (-o) and into smtp-sink, then `decrypt` of the sealed result; each
 * process's peak RSS (GNU time) against the message's size. The issue's
 * target is a peak under 4x the message size.
 *
 * @module
 */
import { shJoin } from "./measure.ts";
import { statement } from "./messages.ts";
import { type BenchContext, cliArgv, processRow, type Row } from "./rows.ts";

/** The size of the large message: what the issue names, 50 MB. */
export const LARGE_BYTES = 50_000_000;

/** The rows of the memory group; also returns the sizes the table names. */
export async function memoryRows(
  ctx: BenchContext,
  add: (what: string, run: () => Promise<Row>) => Promise<Row | undefined>,
): Promise<{ plainBytes: number; sealedBytes: number }> {
  const plain = `${ctx.work}/large-plain.eml`;
  const sealed = `${ctx.work}/large-sealed.eml`;
  await Deno.writeFile(plain, statement(LARGE_BYTES, "bench-large"));
  const seal = (extra: string[]) =>
    cliArgv(ctx, [
      "send",
      plain,
      "--sign",
      "--encrypt",
      "--single-copy",
      "--keys",
      ctx.keysDir,
      "-q",
      ...extra,
    ]);
  const one = async (key: string, name: string, script: string, env?: Record<string, string>) =>
    await add(
      name,
      () => processRow(ctx, key, "memory", name, 1, `${script} || exit 1\necho 0`, env),
    );
  await one("mem-stdout", "send --sign --encrypt > file", `${shJoin(await seal([]))} > ${sealed}`);
  await one(
    "mem-output",
    "send --sign --encrypt -o file",
    shJoin(await seal(["-o", `${ctx.work}/large-o.eml`])),
  );
  await one(
    "mem-smtp",
    "send --sign --encrypt --send_smtp -> smtp-sink",
    `${shJoin(await seal(["--send_smtp"]))} > /dev/null`,
    { SMTP_HOST: ctx.sink.host, SMTP_PORT: String(ctx.sink.port), SMTP_TLS: "never" },
  );
  const decrypt = await cliArgv(ctx, [
    "decrypt",
    sealed,
    "--keys",
    ctx.keysDir,
    "--key",
    `${ctx.keysDir}/bob@example.com.pem`,
  ]);
  await one("mem-decrypt", "decrypt (bob's key) > /dev/null", `${shJoin(decrypt)} > /dev/null`);
  const sizes = {
    plainBytes: (await Deno.stat(plain)).size,
    sealedBytes: (await Deno.stat(sealed).catch(() => ({ size: 0 }))).size,
  };
  for (const file of [plain, sealed, `${ctx.work}/large-o.eml`]) {
    await Deno.remove(file).catch(() => {});
  }
  return sizes;
}
