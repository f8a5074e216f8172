/**
 * The configuration and command-line half of the refusal corpus. Each case
 * runs `send` in a scratch folder whose `smimepost.toml` (when given) points
 * at a live sink, so "nothing was sent" is checked on the wire, not assumed.
 *
 * `{port}` in a file or argument is the sink's port; `{scratch}` the folder.
 *
 * @module
 */

/** One configuration or flag case. */
export interface ConfigCase {
  name: string;
  /** smimepost.toml in the scratch folder, when set. */
  toml?: string;
  /** Other files in the scratch folder. */
  files?: Record<string, string>;
  /** Flags after `send m.eml --sign`. */
  args: string[];
  env?: Record<string, string>;
  /** Run `config check` instead of `send` (same delivery flags). */
  configCheck?: boolean;
  code: number;
  /** Parts the one stderr line must contain. */
  names: string[];
}

/** A working profile, to which cases add one wrong thing. */
export function profile(extra = "", head = "", host = 'host = "127.0.0.1"\n'): string {
  return `${head}[profiles.main]\nplugin = "smtp-generic"\n${host}port = {port}\n${extra}`;
}

const WITH_DEFAULT = 'default_profile = "main"\n';

/** Configuration and flag refusals. */
export const configCases: ConfigCase[] = [
  // ---- the config file
  {
    name: "an unknown plugin",
    toml: '[profiles.main]\nplugin = "postfix-magic"\nhost = "127.0.0.1"\n',
    args: ["--profile", "main"],
    code: 78,
    names: ["profiles.main.plugin", "postfix-magic", "smtp-generic"],
  },
  {
    name: "a profile without a plugin",
    toml: '[profiles.main]\nhost = "127.0.0.1"\n',
    args: ["--profile", "main"],
    code: 78,
    names: ["profiles.main.plugin", "required"],
  },
  {
    name: "an unknown option in a profile, with did-you-mean",
    toml: profile('hots = "127.0.0.2"\n'),
    args: ["--profile", "main"],
    code: 78,
    names: ["profiles.main.hots", '"host"'],
  },
  {
    name: "an unknown top-level key, with did-you-mean",
    toml: 'default_profil = "main"\n' + profile(),
    args: ["--profile", "main"],
    code: 78,
    names: ["default_profil", '"default_profile"'],
  },
  {
    name: "a port that is a string in the file",
    toml: '[profiles.main]\nplugin = "smtp-generic"\nhost = "127.0.0.1"\nport = "twenty-five"\n',
    args: ["--profile", "main"],
    code: 78,
    names: ["profiles.main.port", "twenty-five"],
  },
  {
    name: "tls given as a number",
    toml: profile("tls = 5\n"),
    args: ["--profile", "main"],
    code: 78,
    names: ["profiles.main.tls"],
  },
  {
    name: "a profile that is not a table",
    toml: 'profiles = "main"\n',
    args: ["--profile", "main"],
    code: 78,
    names: ["profiles"],
  },
  {
    name: "a profile without host",
    toml: profile("", "", ""),
    args: ["--profile", "main"],
    code: 78,
    names: ["profiles.main.host"],
  },
  {
    name: "port 0 in the file",
    toml: '[profiles.main]\nplugin = "smtp-generic"\nhost = "127.0.0.1"\nport = 0\n',
    args: ["--profile", "main"],
    code: 78,
    names: ["profiles.main.port"],
  },
  {
    name: "port 70000 in the file",
    toml: '[profiles.main]\nplugin = "smtp-generic"\nhost = "127.0.0.1"\nport = 70000\n',
    args: ["--profile", "main"],
    code: 78,
    names: ["profiles.main.port", "65535"],
  },
  {
    name: "port 70000 from --option",
    toml: profile(),
    args: ["--profile", "main", "--option", "port=70000"],
    code: 78,
    names: ["--option port", "65535"],
  },
  {
    name: "SMTP_PORT=0 with --send_smtp",
    args: ["--send_smtp"],
    env: { SMTP_HOST: "127.0.0.1", SMTP_PORT: "0" },
    code: 78,
    names: ["SMTP_PORT"],
  },
  {
    name: "a profile that does not exist",
    toml: profile(),
    args: ["--profile", "mian"],
    code: 78,
    names: ["mian", "main"],
  },
  {
    name: "a default_profile that does not exist",
    toml: 'default_profile = "nowhere"\n' + profile(),
    args: [],
    code: 78,
    names: ["nowhere"],
  },
  {
    name: "a --config file that does not exist",
    args: ["--config", "nope.toml"],
    code: 78,
    names: ["nope.toml", "not found"],
  },
  {
    name: "a --config that is a folder",
    files: { "conf.d/placeholder": "" },
    args: ["--config", "conf.d"],
    code: 78,
    names: ["conf.d"],
  },
  {
    name: "a TOML syntax error (names the line)",
    toml: WITH_DEFAULT +
      '[profiles.main]\nplugin = "smtp-generic"\nport = = {port}\n',
    args: [],
    code: 78,
    names: ["smimepost.toml", "line 4"],
  },
  {
    name: "a TOML duplicate key",
    toml: profile('host = "127.0.0.2"\n', WITH_DEFAULT),
    args: [],
    code: 78,
    names: ["smimepost.toml"],
  },
  {
    name: "a password_file that does not exist",
    toml: profile('user = "u"\npassword_file = "missing-secret.txt"\n'),
    args: ["--profile", "main"],
    code: 78,
    names: ["password_file", "missing-secret.txt"],
  },
  {
    name: "config check with an unknown option (same refusal as send)",
    toml: profile("prot = 25\n"),
    args: ["--profile", "main"],
    configCheck: true,
    code: 78,
    names: ["profiles.main.prot", '"port"'],
  },
  // ---- flags
  {
    name: "--send-smtp with --send-api (new spellings)",
    args: ["--send-smtp", "--send-api"],
    env: { SMTP_HOST: "127.0.0.1", SMTP_PORT: "{port}", SPARKPOST_API_KEY: "k" },
    code: 64,
    names: ["--send_smtp", "--send_api"],
  },
  {
    name: "--send_smtp with --profile",
    toml: profile(),
    args: ["--send_smtp", "--profile", "main"],
    env: { SMTP_HOST: "127.0.0.1", SMTP_PORT: "{port}" },
    code: 64,
    names: ["--send_smtp", "--profile"],
  },
  {
    name: "--output with a config-file profile",
    toml: profile(),
    args: ["--profile", "main", "-o", "out.eml"],
    code: 64,
    names: ["--output"],
  },
  {
    name: "--resume without --journal",
    toml: profile(),
    args: ["--profile", "main", "--resume"],
    code: 64,
    names: ["--resume", "--journal"],
  },
  {
    name: "--sessions 0",
    toml: profile(),
    args: ["--profile", "main", "--sessions", "0"],
    code: 64,
    names: ["--sessions", '"0"'],
  },
  {
    name: "--sessions abc",
    toml: profile(),
    args: ["--profile", "main", "--sessions", "abc"],
    code: 64,
    names: ["--sessions", '"abc"'],
  },
  {
    name: "--retries -1",
    toml: profile(),
    args: ["--profile", "main", "--retries", "-1"],
    code: 64,
    names: ["--retries", '"-1"'],
  },
  {
    name: "--window 1.5",
    toml: profile(),
    args: ["--profile", "main", "--window", "1.5"],
    code: 64,
    names: ["--window", '"1.5"'],
  },
  {
    name: "--option without =",
    toml: profile(),
    args: ["--profile", "main", "--option", "port"],
    code: 64,
    names: ["--option", "key=value"],
  },
  {
    name: "--sessions abc with --journal (no journal file left behind)",
    toml: profile(),
    args: ["--profile", "main", "--journal", "run.journal", "--sessions", "abc"],
    code: 64,
    names: ["--sessions"],
  },
  {
    name: "--retry-max-age soon",
    toml: profile(),
    args: ["--profile", "main", "--retry-max-age", "soon"],
    code: 64,
    names: ["--retry-max-age", '"soon"'],
  },
  {
    name: "--digest md5",
    args: ["--digest", "md5"],
    code: 64,
    names: ["md5"],
  },
  {
    name: "several messages written to stdout with --json",
    files: { "n.eml": "From: alice@example.com\nTo: bob@example.com\n\nhi\n" },
    args: ["n.eml", "--json"],
    code: 64,
    names: ["--json", "-o"],
  },
  {
    name: "--cipher des",
    args: ["--encrypt", "--cipher", "des"],
    code: 64,
    names: ["--cipher", "des"],
  },
  // ---- the key folder and the output
  {
    name: "--keys naming a file",
    args: ["--keys", "m.eml"],
    code: 66,
    names: ["key folder m.eml", "not a folder"],
  },
  {
    name: "--keys naming nothing",
    args: ["--keys", "no-keys-here"],
    code: 66,
    names: ["no-keys-here", "does not exist"],
  },
  {
    name: "-o into a folder that does not exist (exit 74, nothing written)",
    args: ["-o", "missing/out.eml"],
    code: 74,
    names: ["missing/out.eml"],
  },
  {
    name: "-o naming a folder (exit 74, no temporary file left)",
    files: { "outdir/placeholder": "" },
    args: ["-o", "outdir"],
    code: 74,
    names: ["outdir", "folder"],
  },
  // ---- --trust
  {
    name: "a --trust file that does not exist",
    toml: profile(),
    args: ["--profile", "main", "--trust", "missing-trust.pem"],
    code: 66,
    names: ["missing-trust.pem"],
  },
  {
    name: "a --trust that is a folder (unreadable)",
    toml: profile(),
    files: { "trust.d/placeholder": "" },
    args: ["--profile", "main", "--trust", "trust.d"],
    code: 66,
    names: ["trust.d", "folder"],
  },
  {
    name: "a --trust file that is not PEM",
    toml: profile(),
    files: { "trust.txt": "these are not the certificates you are looking for\n" },
    args: ["--profile", "main", "--trust", "trust.txt"],
    code: 65,
    names: ["trust.txt", "no certificate"],
  },
  {
    name: "a --trust file without a delivery (stdout mode)",
    files: { "trust.txt": "-----BEGIN CERTIFICATE-----\nAAAA\n" },
    args: ["--trust", "trust.txt"],
    code: 65,
    names: ["trust.txt", "truncated"],
  },
];
