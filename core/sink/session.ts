/**
 * One SMTP connection of the sink: reads pipelined commands in order,
 * answers each (batching the answers to one input chunk into one write),
 * and hands complete messages to the store.
 *
 * @module
 */
import type { Socket } from "node:net";
import { DataReader } from "./data_reader.ts";
import type { MessageStore } from "./store.ts";
import type { SinkFaults, StoredMessage } from "./types.ts";

const LF = 0x0a;
const CR = 0x0d;
/** RFC 5321 4.5.3.1.6: a line is at most 1000 octets with its CRLF. */
const MAX_LINE = 1000;
/** RFC 5321 4.5.3.1.8: at least 100 recipients must be accepted; we take 1000. */
const MAX_RCPT = 1000;
const IDLE_MS = 5 * 60_000;
/** How long a closing connection may wait for the client to close its side. */
const LINGER_MS = 2_000;

/** What a session needs from its server. */
export interface SessionContext {
  hostname: string;
  strict: boolean;
  maxSize: number;
  faults: SinkFaults;
  store: MessageStore;
  nextId(): string;
  log?: (line: string) => void;
}

/** What to do to the connection once the current reply is out. */
type After = "end" | "destroy" | undefined;

const decoder = new TextDecoder();

/** One client connection. */
export class SmtpSession {
  /** Resolves when the socket has closed. */
  readonly closed: Promise<void>;
  readonly #socket: Socket;
  readonly #ctx: SessionContext;
  readonly #client: string;
  #inbox: Uint8Array[] = [];
  #pending: Uint8Array | undefined;
  #isOverlong = false;
  #out: string[] = [];
  #pump: Promise<void> | undefined;
  #isStopped = false;
  #after: After;
  #timers = new Map<ReturnType<typeof setTimeout>, () => void>();
  #helo: string | undefined;
  #mailFrom: string | undefined;
  #rcptTo: string[] = [];
  #rcptCount = 0;
  #reader: DataReader | undefined;

  constructor(socket: Socket, ctx: SessionContext) {
    this.#socket = socket;
    this.#ctx = ctx;
    const address = socket.remoteAddress ?? "unknown";
    this.#client = `${address.includes(":") ? `[${address}]` : address}:${socket.remotePort}`;
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.setNoDelay(true);
    socket.setTimeout(IDLE_MS);
    socket.on("timeout", () => this.#endWith("421 4.4.2 Error: timeout exceeded"));
    socket.on("error", (err) => ctx.log?.(`${this.#client}: ${err.message}`));
    socket.on("close", () => this.#cancelTimers());
    socket.on("data", (chunk: Uint8Array) => this.#onData(chunk));
    ctx.log?.(`${this.#client}: connect`);
    this.#pump = this.#greet().finally(() => {
      this.#pump = undefined;
      this.#startPump();
    });
  }

  /** Stops reading, lets pending work finish, says 421 and closes. */
  async shutdown(): Promise<void> {
    this.#isStopped = true;
    this.#cancelTimers();
    await this.#pump;
    this.#endWith("421 4.3.2 Error: service shutting down");
    await this.closed;
  }

  #onData(chunk: Uint8Array): void {
    if (this.#isStopped) return;
    // Plain views: Uint8Array.indexOf, not the Buffer polyfill's.
    this.#inbox.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    if (this.#pump) {
      if (this.#inbox.length > 16) this.#socket.pause();
      return;
    }
    this.#startPump();
  }

  #startPump(): void {
    if (this.#pump || this.#inbox.length === 0 || this.#isStopped) return;
    this.#pump = this.#drain()
      .catch((err) => {
        this.#ctx.log?.(`${this.#client}: internal error: ${err}`);
        this.#socket.destroy();
      })
      .finally(() => {
        this.#pump = undefined;
        if (this.#socket.isPaused()) this.#socket.resume();
        this.#startPump();
      });
  }

  async #greet(): Promise<void> {
    const greeting = this.#ctx.faults.greeting ?? `220 ${this.#ctx.hostname} ESMTP smimepost sink`;
    if (!greeting.startsWith("2")) this.#after = "end";
    await this.#respond(greeting);
    this.#flush();
  }

  async #drain(): Promise<void> {
    while (!this.#isStopped) {
      const chunk = this.#inbox.shift();
      if (!chunk) break;
      await this.#process(chunk);
      this.#flush();
    }
  }

  /** Handles one chunk: commands line by line, DATA in bulk. */
  async #process(input: Uint8Array): Promise<void> {
    let chunk = input;
    if (this.#pending) {
      chunk = new Uint8Array(this.#pending.length + input.length);
      chunk.set(this.#pending);
      chunk.set(input, this.#pending.length);
      this.#pending = undefined;
    }
    let i = 0;
    while (i < chunk.length && !this.#isStopped) {
      const reader = this.#reader;
      if (reader) {
        const drop = this.#ctx.faults.dropDuringData;
        if (drop && drop(reader.rawBytes + chunk.length - i)) {
          this.#ctx.log?.(`${this.#client}: fault: connection dropped during DATA`);
          this.#after = "destroy";
          return this.#respond("");
        }
        const progress = reader.feed(chunk, i);
        if (!progress.done) return;
        i = progress.next;
        this.#reader = undefined;
        await this.#respond(this.#endData(reader, progress.smuggled));
        continue;
      }
      const lf = chunk.indexOf(LF, i);
      if (lf < 0) {
        if (chunk.length - i > MAX_LINE) this.#isOverlong = true;
        else if (!this.#isOverlong) this.#pending = chunk.slice(i);
        return;
      }
      const start = i;
      i = lf + 1;
      const reply = this.#line(chunk, start, lf);
      if (
        typeof reply === "string" && this.#after === undefined && !this.#ctx.faults.replyDelayMs
      ) {
        this.#out.push(reply);
      } else {
        await this.#respond(reply);
      }
    }
  }

  /** Checks one command line's length and line ends, then runs it. */
  #line(chunk: Uint8Array, start: number, lf: number): string | Promise<string> {
    if (this.#isOverlong || lf + 1 - start > MAX_LINE) {
      this.#isOverlong = false;
      return "500 5.5.2 Error: line too long";
    }
    const hasCr = lf > start && chunk[lf - 1] === CR;
    const end = hasCr ? lf - 1 : lf;
    if (this.#ctx.strict) {
      // RFC 5321 2.3.8: CR and LF only ever appear together, as CRLF.
      if (!hasCr) return this.#refuseBare("LF", "command");
      if (chunk.subarray(start, end).indexOf(CR) >= 0) return this.#refuseBare("CR", "command");
    }
    return this.#command(decoder.decode(chunk.subarray(start, end)));
  }

  #refuseBare(kind: "CR" | "LF", where: string): string {
    this.#ctx.log?.(`${this.#client}: refused bare <${kind}> in ${where}`);
    return `500 5.5.2 Error: bare <${kind}> received in ${where}`;
  }

  #command(line: string): string | Promise<string> {
    const space = line.indexOf(" ");
    const verb = (space < 0 ? line : line.slice(0, space)).toUpperCase();
    const arg = space < 0 ? "" : line.slice(space + 1).trim();
    switch (verb) {
      case "EHLO":
      case "HELO":
        return this.#hello(verb, arg);
      case "MAIL":
        return this.#mail(arg);
      case "RCPT":
        return this.#rcpt(arg);
      case "DATA":
        return this.#data(arg);
      case "RSET":
        this.#reset();
        return "250 2.0.0 Ok";
      case "NOOP":
        return "250 2.0.0 Ok";
      case "QUIT":
        this.#after = "end";
        return "221 2.0.0 Bye";
      case "VRFY":
        return "252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery";
      case "STARTTLS":
        return this.#ctx.faults.offerStarttls
          ? "454 4.7.0 TLS not available due to local problem"
          : "502 5.5.1 Error: command not implemented";
      case "AUTH":
        return "503 5.5.1 Error: authentication not enabled";
      case "":
        return "500 5.5.2 Error: bad syntax";
      default:
        return "502 5.5.2 Error: command not recognized";
    }
  }

  #hello(verb: string, arg: string): string {
    if (arg === "") return `501 5.5.4 Syntax: ${verb} hostname`;
    this.#helo = arg;
    this.#reset();
    if (verb === "HELO") return `250 ${this.#ctx.hostname}`;
    const lines = [
      this.#ctx.hostname,
      "PIPELINING",
      `SIZE ${this.#ctx.maxSize}`,
      "8BITMIME",
      "SMTPUTF8",
      "ENHANCEDSTATUSCODES",
    ];
    if (this.#ctx.faults.offerStarttls) lines.push("STARTTLS");
    return lines.map((text, n) => `250${n === lines.length - 1 ? " " : "-"}${text}`).join("\r\n");
  }

  #mail(arg: string): string {
    if (this.#helo === undefined) return "503 5.5.1 Error: send HELO/EHLO first";
    if (this.#mailFrom !== undefined) return "503 5.5.1 Error: nested MAIL command";
    const path = parsePath(arg, "FROM:");
    if (!path) return "501 5.5.4 Syntax: MAIL FROM:<address>";
    for (const param of path.params) {
      const [key = "", value] = param.split("=", 2);
      switch (key.toUpperCase()) {
        case "SIZE": // RFC 1870
          if (!/^\d+$/.test(value ?? "")) return "501 5.5.4 Bad message size syntax";
          if (Number(value) > this.#ctx.maxSize) {
            return "552 5.3.4 Message size exceeds fixed limit";
          }
          break;
        case "BODY": // RFC 6152
          if (!/^(7BIT|8BITMIME)$/i.test(value ?? "")) {
            return `501 5.5.4 Unsupported BODY parameter: ${value}`;
          }
          break;
        case "SMTPUTF8": // RFC 6531
          break;
        default:
          return `555 5.5.4 Unsupported option: ${key}`;
      }
    }
    this.#mailFrom = path.address;
    return "250 2.1.0 Ok";
  }

  #rcpt(arg: string): string {
    if (this.#mailFrom === undefined) return "503 5.5.1 Error: need MAIL command";
    const path = parsePath(arg, "TO:");
    if (!path) return "501 5.5.4 Syntax: RCPT TO:<address>";
    if (path.address === "") return "501 5.1.3 Bad recipient address syntax";
    if (path.params.length > 0) return `555 5.5.4 Unsupported option: ${path.params[0]}`;
    if (this.#rcptTo.length >= MAX_RCPT) return "452 4.5.3 Error: too many recipients";
    const n = ++this.#rcptCount;
    const reply = this.#ctx.faults.onRcpt?.(path.address, n);
    if (reply !== undefined && !reply.startsWith("2")) return reply;
    this.#rcptTo.push(path.address);
    return reply ?? "250 2.1.5 Ok";
  }

  #data(arg: string): string {
    if (arg !== "") return "501 5.5.4 Syntax: DATA";
    if (this.#mailFrom === undefined) return "503 5.5.1 Error: need RCPT command";
    if (this.#rcptTo.length === 0) return "554 5.5.1 Error: no valid recipients";
    this.#reader = new DataReader(this.#ctx.strict, this.#ctx.maxSize);
    return "354 End data with <CR><LF>.<CR><LF>";
  }

  /** The reply to the final dot; stores the message when it is accepted. */
  async #endData(reader: DataReader, isSmuggled: boolean): Promise<string> {
    const mailFrom = this.#mailFrom ?? "";
    const rcptTo = this.#rcptTo;
    this.#reset();
    if (isSmuggled) {
      // A lenient server would have ended the message here and read what
      // follows as commands; we cannot know where the client meant it to end.
      this.#after = "end";
      return this.#refuseBare("LF", "end of data (SMTP smuggling?)");
    }
    if (reader.bare) return this.#refuseBare(reader.bare, "message data");
    if (reader.isTooBig) return "552 5.3.4 Message size exceeds fixed limit";
    const message: StoredMessage = {
      id: this.#ctx.nextId(),
      mailFrom,
      rcptTo,
      data: reader.data(),
      receivedAt: new Date().toISOString(),
      client: this.#client,
    };
    const fault = this.#ctx.faults.onDataEnd?.(message);
    if (fault === "drop") {
      this.#ctx.log?.(`${this.#client}: fault: dropped after the final dot (${message.id})`);
      this.#after = "end";
      return "";
    }
    if (fault !== undefined && !fault.startsWith("2")) return fault;
    try {
      await this.#ctx.store.add(message);
    } catch (err) {
      this.#ctx.log?.(`${this.#client}: cannot store ${message.id}: ${err}`);
      return "451 4.3.0 Error: queue file write error";
    }
    this.#ctx.log?.(
      `${message.id}: from=<${mailFrom}> to=<${rcptTo.join(">,<")}> size=${message.data.length}`,
    );
    return fault ?? `250 2.0.0 Ok: queued as ${message.id}`;
  }

  #reset(): void {
    this.#mailFrom = undefined;
    this.#rcptTo = [];
    this.#rcptCount = 0;
  }

  /** Queues one reply (after the configured delay), then acts on #after. */
  async #respond(reply: string | Promise<string>): Promise<void> {
    const line = await reply;
    const delay = this.#ctx.faults.replyDelayMs;
    if (delay && line !== "" && !this.#isStopped) {
      this.#flush();
      await this.#sleep(delay);
    }
    if (line !== "") this.#out.push(line);
    const after = this.#after;
    if (after === "end") this.#endWith();
    else if (after === "destroy") {
      this.#isStopped = true;
      this.#socket.destroy();
    }
  }

  #flush(): void {
    if (this.#out.length === 0 || this.#socket.destroyed) return;
    this.#out.push("");
    this.#socket.write(this.#out.join("\r\n"));
    this.#out = [];
  }

  /** Sends what is queued (and `last`), half-closes, and closes for good soon after. */
  #endWith(last?: string): void {
    const isOpen = !this.#socket.destroyed && !this.#socket.writableEnded;
    if (last !== undefined && isOpen) this.#out.push(last);
    this.#isStopped = true;
    this.#inbox = [];
    if (this.#socket.destroyed) return;
    this.#flush();
    if (!this.#socket.writableEnded) this.#socket.end();
    const timer = setTimeout(() => this.#socket.destroy(), LINGER_MS);
    this.#timers.set(timer, () => {});
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      this.#timers.set(timer, resolve);
    });
  }

  #cancelTimers(): void {
    for (const [timer, resolve] of this.#timers) {
      clearTimeout(timer);
      resolve();
    }
    this.#timers.clear();
  }
}

/** Parses `FROM:<a@b> PARAM=1` / `TO:<a@b>`; also accepts a path without brackets. */
function parsePath(arg: string, prefix: string): { address: string; params: string[] } | undefined {
  if (arg.slice(0, prefix.length).toUpperCase() !== prefix) return undefined;
  const rest = arg.slice(prefix.length).trimStart();
  let address: string;
  let tail: string;
  if (rest.startsWith("<")) {
    const close = rest.indexOf(">");
    if (close < 0) return undefined;
    address = rest.slice(1, close);
    tail = rest.slice(close + 1);
  } else {
    const space = rest.indexOf(" ");
    address = space < 0 ? rest : rest.slice(0, space);
    tail = space < 0 ? "" : rest.slice(space);
    if (address === "") return undefined;
  }
  if (/[\s<>]/.test(address)) return undefined;
  const params = tail.trim() === "" ? [] : tail.trim().split(/\s+/);
  return { address, params };
}
