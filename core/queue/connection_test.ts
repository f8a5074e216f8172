import { assertEquals } from "../../tests/support/assert.ts";
import type { NatsSettings } from "../config/nats.ts";
import { natsError } from "./connection.ts";

const SETTINGS: NatsSettings = {
  servers: ["nats://127.0.0.1:4222"],
  display: "nats://127.0.0.1:4222",
  stream: "S",
  password: "pw\x1b[2Kx",
  ackWaitMs: 30_000,
  duplicateWindowMs: 120_000,
  where: { password: "nats.password" },
  values: [],
  secrets: ["pw\x1b[2Kx"],
  warnings: [],
};

Deno.test("natsError() shows the server's control characters as \\xNN and masks the password in them", () => {
  const err = new Error("'Permission denied\x1b]0;owned\x07 for pw\x1b[2Kx'");
  err.name = "JetStreamApiError";
  assertEquals(
    natsError(err, SETTINGS, "publish to").message,
    "Cannot publish to NATS at nats://127.0.0.1:4222: " +
      "'Permission denied\\x1b]0;owned\\x07 for ****'",
  );
});
