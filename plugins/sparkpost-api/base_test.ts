import { assertEquals } from "../../tests/support/assert.ts";
import { assertSmimeError } from "../../tests/support/assert.ts";
import { resolveApiBase } from "./base.ts";

Deno.test("resolveApiBase() maps hosts, URLs and regions to an API base", () => {
  const cases: [string | undefined, "us" | "eu" | undefined, string][] = [
    [undefined, undefined, "https://api.sparkpost.com/api/v1"],
    ["", "us", "https://api.sparkpost.com/api/v1"],
    [undefined, "eu", "https://api.eu.sparkpost.com/api/v1"],
    ["api.sparkpost.com", undefined, "https://api.sparkpost.com/api/v1"],
    ["demo.api.e.sparkpost.com", undefined, "https://demo.api.e.sparkpost.com/api/v1"],
    ["api.eu.sparkpost.com", "us", "https://api.eu.sparkpost.com/api/v1"],
    ["  api.sparkpost.com  ", undefined, "https://api.sparkpost.com/api/v1"],
    ["https://api.sparkpost.com", undefined, "https://api.sparkpost.com/api/v1"],
    ["https://api.sparkpost.com/", undefined, "https://api.sparkpost.com/api/v1"],
    ["https://api.sparkpost.com/api/v1", undefined, "https://api.sparkpost.com/api/v1"],
    ["https://api.sparkpost.com/api/v1/", undefined, "https://api.sparkpost.com/api/v1"],
    ["https://mta.example.net:8443/pmta/api/v1", "eu", "https://mta.example.net:8443/pmta/api/v1"],
    [
      "https://api.sparkpost.com/api/v1/transmissions",
      undefined,
      "https://api.sparkpost.com/api/v1",
    ],
    ["mta.example.net:2081", undefined, "https://mta.example.net:2081/api/v1"],
    [
      "https://user:pw@api.sparkpost.com/api/v1?x=1#f",
      undefined,
      "https://api.sparkpost.com/api/v1",
    ],
  ];
  for (const [host, region, expected] of cases) {
    const warnings: string[] = [];
    assertEquals(resolveApiBase(host, region, (w) => warnings.push(w)), expected, String(host));
    assertEquals(warnings, [], String(host));
  }
});

Deno.test("resolveApiBase() accepts plain http with a warning", () => {
  const warnings: string[] = [];
  const base = resolveApiBase("http://127.0.0.1:8080", "us", (w) => warnings.push(w));
  assertEquals(base, "http://127.0.0.1:8080/api/v1");
  assertEquals(warnings, ["sending the API key over plain http to http://127.0.0.1:8080"]);
  assertEquals(resolveApiBase("http://127.0.0.1:8080/api/v1"), "http://127.0.0.1:8080/api/v1");
});

Deno.test("resolveApiBase() refuses other schemes and non-hosts with E_CONFIG", async () => {
  for (const host of ["ftp://api.sparkpost.com", "https://", "api sparkpost com", "http://[::1"]) {
    await assertSmimeError(() => resolveApiBase(host), "E_CONFIG");
  }
});
