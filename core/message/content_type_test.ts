import { deepStrictEqual } from "node:assert/strict";
import { parseContentType, scanParams } from "./content_type.ts";

const plain = { type: "text", subtype: "plain", params: { charset: "us-ascii" } };

Deno.test("parseContentType() defaults to text/plain; charset=us-ascii (RFC 2045 5.2)", () => {
  deepStrictEqual(parseContentType(undefined), plain);
  deepStrictEqual(parseContentType(""), plain);
  deepStrictEqual(parseContentType("garbage"), plain);
  deepStrictEqual(parseContentType("text/"), plain);
});

Deno.test("parseContentType() lower-cases type, subtype and parameter names, not values", () => {
  deepStrictEqual(parseContentType('Multipart/Mixed; Boundary="AbC=_1"; X=Y'), {
    type: "multipart",
    subtype: "mixed",
    params: { boundary: "AbC=_1", x: "Y" },
  });
});

Deno.test("parseContentType() reads quoted strings, comments and unquoted '=' in values", () => {
  deepStrictEqual(
    parseContentType('text/plain (comment) ; charset = "utf-8" ; name="a \\"b\\";c.txt"'),
    { type: "text", subtype: "plain", params: { charset: "utf-8", name: 'a "b";c.txt' } },
  );
  deepStrictEqual(parseContentType("multipart/alternative; boundary=----=_Part_1_2.3"), {
    type: "multipart",
    subtype: "alternative",
    params: { boundary: "----=_Part_1_2.3" },
  });
});

Deno.test("parseContentType() joins RFC 2231 continuations and decodes charsets", () => {
  const value = "application/pdf; name*0*=utf-8''Gr%C3%BC; name*1*=%C3%9Fe; name*2=.pdf";
  deepStrictEqual(parseContentType(value).params, { name: "Grüße.pdf" });
  deepStrictEqual(
    parseContentType("text/plain; title*=iso-8859-1'en'%A3%20rates; title=plain").params,
    { title: "£ rates" },
  );
  deepStrictEqual(
    parseContentType('message/external-body; url*0="ftp://"; url*1="x.org/f"').params,
    { url: "ftp://x.org/f" },
  );
});

Deno.test("scanParams() gives each parameter where it is written, from the first ';'", () => {
  const value = 'attachment; filename="a \\"b\\".pdf" ;size=12(c); x*0*=utf-8\'\'%41';
  const spans = scanParams(value);
  deepStrictEqual(spans.map((p) => [p.name, p.value]), [
    ["filename", 'a "b".pdf'],
    ["size", "12"],
    ["x*0*", "utf-8''%41"],
  ]);
  deepStrictEqual(spans.map((p) => value.slice(p.start, p.end)), [
    'filename="a \\"b\\".pdf"',
    "size=12",
    "x*0*=utf-8''%41",
  ]);
});
