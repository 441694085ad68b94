// Amounts and percentages as the forms read and the pages show them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fmtBlocks, fmtPerbill, fmtTokens, parsePercent, parseTokens } from "../../src/format.ts";

const UNIT = 10n ** 18n;

test("token amounts parse exactly and refuse what is not an amount", () => {
  assert.equal(parseTokens("6"), 6n * UNIT);
  assert.equal(parseTokens("0.25"), UNIT / 4n);
  assert.equal(parseTokens(" 1.000000000000000001 "), UNIT + 1n);
  for (const bad of ["", "-1", "1e3", "1,5", "0.0000000000000000001", "abc"]) assert.throws(() => parseTokens(bad), Error, bad);
});

test("token amounts are shown with up to 4 decimals and never as zero when they are not", () => {
  assert.equal(fmtTokens(6n * UNIT), "6 KAI");
  assert.equal(fmtTokens(1234n * UNIT + UNIT / 2n), "1,234.5 KAI");
  assert.equal(fmtTokens(1n), "<0.0001 KAI");
  assert.equal(fmtTokens(0n), "0 KAI");
  assert.equal(fmtTokens(undefined), "–");
});

test("percentages are Perbill both ways", () => {
  assert.equal(parsePercent("2.5"), 25_000_000);
  assert.equal(parsePercent("2.5%"), 25_000_000);
  assert.equal(parsePercent("100"), 1_000_000_000);
  assert.throws(() => parsePercent("100.1"));
  assert.throws(() => parsePercent("1.12345678"));
  assert.equal(fmtPerbill(25_000_000), "2.5%");
});

test("durations in blocks read as time", () => {
  assert.equal(fmtBlocks(10, 6000), "1 min");
  assert.equal(fmtBlocks(600, 6000), "1 h");
  assert.equal(fmtBlocks(0, 6000), "now");
});
