import { describe, expect, it } from "vitest";
import en from "./en";
import { catalogues, formatBytes, formatDate, formatNumber, setLanguage, t } from "./index";

describe("catalogues", () => {
  for (const [code, catalogue] of Object.entries(catalogues)) {
    it(`${code} has every English key`, () => {
      const missing = Object.keys(en).filter((key) => !(key in catalogue) || !catalogue[key as keyof typeof en]);
      expect(missing).toEqual([]);
    });
    it(`${code} keeps every placeholder`, () => {
      for (const [key, text] of Object.entries(en)) {
        const wanted = (text.match(/\{\w+\}/g) ?? []).sort();
        const got = (catalogue[key as keyof typeof en].match(/\{\w+\}/g) ?? []).sort();
        expect(got, `${code} ${key}`).toEqual(wanted);
      }
    });
  }

  for (const [code, catalogue] of Object.entries(catalogues)) {
    if (code === "en") continue;
    it(`${code} is a translation, not an English copy`, () => {
      const same = Object.keys(en).filter((key) => catalogue[key as keyof typeof en] === en[key as keyof typeof en]);
      // format names and words the languages share (Normal, Audio, Action, Description)
      expect(same.length / Object.keys(en).length).toBeLessThan(0.1);
    });
  }

  it("fails for a catalogue that lacks a key", () => {
    const { ["nav.cases"]: _dropped, ...partial } = en;
    expect(Object.keys(en).filter((key) => !(key in partial))).toEqual(["nav.cases"]);
  });
});

describe("formatting follows the language", () => {
  it("writes numbers and dates per language", () => {
    setLanguage("en");
    expect(formatNumber(1234.5)).toBe("1,234.5");
    expect(t("map.case_count", { count: 1200 })).toBe("1,200 cases");
    setLanguage("fr");
    expect(formatNumber(1234.5).replace(/\s/g, " ")).toBe("1 234,5");
    setLanguage("ar");
    expect(formatDate("2026-03-01")).not.toContain("Mar");
    setLanguage("en");
    expect(formatDate("2026-03-01")).toBe("Mar 1, 2026");
    expect(formatBytes(936)).toBe("936 bytes");
    expect(formatBytes(1536 * 1024)).toBe("1.5 MB");
  });
});
