import { assertEquals } from "../../tests/support/assert.ts";
import { buildProgram, treeFor } from "./program.ts";

Deno.test("treeFor() builds send alone for a run of send, every command otherwise", () => {
  const send = [
    ["send", "statements/", "--sign"],
    ["statement.eml", "--sign", "--send_smtp"],
    ["./statement", "--encrypt"],
    ["-", "--sign"],
    ["send", "--mbox", "november.mbox"],
  ];
  for (const args of send) assertEquals(treeFor(args), "send", args.join(" "));
  const all = [
    [],
    ["verify", "sealed.eml"],
    ["statement"], // a word: a command, unless a file of that name exists (cli.ts decides)
    ["help", "send"],
    ["--help"],
    ["statement.eml", "--help"],
    ["send", "-h"],
    ["statement.eml", "-V"],
    ["--sign", "statement.eml"],
    ["config", "check"],
  ];
  for (const args of all) assertEquals(treeFor(args), "all", args.join(" "));
});

Deno.test("buildProgram() makes the same send command alone as in the whole tree", async () => {
  const alone = (await buildProgram("send")).command;
  const whole = (await buildProgram("all")).command;
  assertEquals(alone.commands.map((c) => c.name()), ["send"]);
  assertEquals(whole.commands.length > 10, true);
  const sendOf = (program: typeof alone) => program.commands.find((c) => c.name() === "send")!;
  assertEquals(sendOf(alone).helpInformation(), sendOf(whole).helpInformation());
  assertEquals(
    sendOf(alone).options.map((o) => [o.flags, o.defaultValue]),
    sendOf(whole).options.map((o) => [o.flags, o.defaultValue]),
  );
});
