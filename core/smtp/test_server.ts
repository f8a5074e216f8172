/**
 * A raw, strict SMTP server for tests (node:net): it refuses any bare CR or
 * bare LF in commands or message data (SMTP smuggling, CVE-2023-51764), and
 * can be scripted to misbehave: drop the connection, stall, send garbage.
 * Runtime code never imports this file.
 *
 * @module
 */
import net from "node:net";
import tls from "node:tls";
import { concatBytes } from "../bytes.ts";

/** One accepted message, un-dot-stuffed, without the final ".\r\n". */
export interface StrictMessage {
  from: string;
  to: string[];
  data: Uint8Array;
}

/** How the scripted server behaves; every hook may be async. */
export interface StrictOptions {
  greeting?: string;
  extensions?: string[];
  /** The reply to a command line (without CRLF); undefined → the default. */
  reply?: (line: string) => string | undefined | Promise<string | undefined>;
  /** Called after 354, before the data is read: return "drop" to destroy now. */
  onDataStart?: () => "drop" | void | Promise<"drop" | void>;
  /** Reply to the end of data; "drop" destroys the socket instead of replying. */
  onDataEnd?: (data: Uint8Array) => string | "drop" | Promise<string | "drop">;
  /** Certificate for STARTTLS (offered when given), and bytes to inject after the 220. */
  tls?: { key: string; cert: string; inject?: string };
}

/** A running strict server. */
export interface StrictServer {
  port: number;
  messages: StrictMessage[];
  /** Protocol violations seen (bare CR/LF...): must stay empty. */
  violations: string[];
  /** Number of reads that carried more than one command (pipelining evidence). */
  commandLines: string[];
  close(): Promise<void>;
}

const CR = 13;
const LF = 10;

class Reader {
  #buf: Uint8Array = new Uint8Array(0);
  #waiting?: () => void;
  #ended = false;
  constructor(socket: net.Socket) {
    socket.on("data", (c: Uint8Array) => {
      this.#buf = concatBytes([this.#buf, c]);
      this.#waiting?.();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#waiting?.();
    });
  }
  /** One CRLF line; throws on a bare CR or LF, or when the peer is gone. */
  async line(): Promise<string> {
    for (;;) {
      for (let i = 0; i < this.#buf.length; i++) {
        const b = this.#buf[i];
        if (b === LF) throw new Error("bare LF in a command");
        if (b !== CR) continue;
        if (i + 1 >= this.#buf.length) break;
        if (this.#buf[i + 1] !== LF) throw new Error("bare CR in a command");
        const line = new TextDecoder().decode(this.#buf.subarray(0, i));
        this.#buf = this.#buf.slice(i + 2);
        return line;
      }
      if (this.#ended) throw new Error("closed");
      await new Promise<void>((r) => (this.#waiting = r));
    }
  }
  /** Lines until ".", strictly CRLF, un-dot-stuffed (RFC 5321 4.5.2). */
  async data(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for (;;) {
      const lf = this.#buf.indexOf(LF);
      const cr = this.#buf.indexOf(CR);
      if (cr >= 0 && cr + 1 < this.#buf.length && this.#buf[cr + 1] !== LF) {
        throw new Error("bare CR in DATA");
      }
      if (lf >= 0 && (lf === 0 || this.#buf[lf - 1] !== CR)) throw new Error("bare LF in DATA");
      if (lf < 0) {
        if (this.#ended) throw new Error("closed");
        await new Promise<void>((r) => (this.#waiting = r));
        continue;
      }
      const line = this.#buf.subarray(0, lf + 1);
      this.#buf = this.#buf.slice(lf + 1);
      if (line.length === 3 && line[0] === 46) return concatBytes(parts);
      parts.push(line[0] === 46 ? line.subarray(1) : line);
    }
  }
}

function defaultReply(line: string): string {
  const verb = line.split(/[ :]/)[0]!.toUpperCase();
  if (verb === "MAIL" || verb === "RCPT" || verb === "RSET") return "250 2.1.0 Ok";
  if (verb === "NOOP") return "250 Ok";
  return "502 5.5.2 command not recognised";
}

/** Starts the strict server on 127.0.0.1 with a random port. */
export async function startStrictServer(options: StrictOptions = {}): Promise<StrictServer> {
  const state: StrictServer = {
    port: 0,
    messages: [],
    violations: [],
    commandLines: [],
    close: () => Promise.resolve(),
  };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    serve(socket, options, state).catch((err: Error) => {
      if (err.message !== "closed" && err.message !== "drop") state.violations.push(err.message);
      socket.destroy();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  state.port = (server.address() as net.AddressInfo).port;
  state.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return state;
}

async function serve(plain: net.Socket, options: StrictOptions, state: StrictServer) {
  let socket = plain;
  let reader = new Reader(socket);
  const write = (text: string) => socket.write(text.endsWith("\n") ? text : text + "\r\n");
  write(options.greeting ?? "220 strict.test ESMTP");
  let from = "";
  let to: string[] = [];
  for (;;) {
    const line = await reader.line();
    state.commandLines.push(line);
    const verb = line.split(/[ :]/)[0]!.toUpperCase();
    const custom = await options.reply?.(line);
    if (custom === "drop") throw new Error("drop");
    if (custom !== undefined) {
      if (custom !== "") write(custom);
      if (custom.startsWith("221") || custom.startsWith("421")) return void socket.end();
      continue;
    }
    if (verb === "STARTTLS" && options.tls) {
      // The injected bytes come in plain text after the 220: CVE-2011-0411 style.
      write("220 2.0.0 Ready to start TLS\r\n" + (options.tls.inject ?? ""));
      socket = new tls.TLSSocket(socket, { isServer: true, ...options.tls });
      socket.on("error", () => {});
      reader = new Reader(socket);
    } else if (verb === "EHLO") {
      const ext = [
        ...(options.extensions ?? ["PIPELINING", "8BITMIME", "SIZE 10000000"]),
        ...(options.tls && !(socket instanceof tls.TLSSocket) ? ["STARTTLS"] : []),
      ];
      const lines = ["strict.test", ...ext];
      write(lines.map((l, i) => `250${i < lines.length - 1 ? "-" : " "}${l}`).join("\r\n"));
    } else if (verb === "MAIL") {
      from = /<([^>]*)>/.exec(line)?.[1] ?? "";
      to = [];
      write(defaultReply(line));
    } else if (verb === "RCPT") {
      to.push(/<([^>]*)>/.exec(line)?.[1] ?? "");
      write(defaultReply(line));
    } else if (verb === "DATA") {
      write("354 go ahead");
      if ((await options.onDataStart?.()) === "drop") throw new Error("drop");
      const data = await reader.data();
      const reply = await options.onDataEnd?.(data);
      if (reply === "drop") throw new Error("drop");
      state.messages.push({ from, to, data });
      write(reply ?? `250 2.0.0 Ok: queued as S${state.messages.length}`);
    } else if (verb === "QUIT") {
      write("221 2.0.0 Bye");
      return void socket.end();
    } else {
      write(defaultReply(line));
    }
  }
}
