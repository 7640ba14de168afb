// The interface languages: English is the reference; every catalogue has every English key
// (a unit test fails otherwise). Dates and numbers follow the language through Intl.

import { signal } from "../signal";
import en from "./en";
import es from "./es";
import fr from "./fr";
import pt from "./pt";
import ar from "./ar";

export type Key = keyof typeof en;
export type Catalogue = Record<Key, string>;

export const catalogues: Record<string, Catalogue> = { en, es, fr, pt, ar };
export const languages: { code: string; name: string }[] = [
  { code: "en", name: "English" },
  { code: "es", name: "Español" },
  { code: "fr", name: "Français" },
  { code: "pt", name: "Português" },
  { code: "ar", name: "العربية" },
];
const RTL = new Set(["ar"]);

function initial(): string {
  const saved = globalThis.localStorage?.getItem("ej-lang");
  if (saved && saved in catalogues) return saved;
  const browser = (globalThis.navigator?.language ?? "en").slice(0, 2);
  return browser in catalogues ? browser : "en";
}

export const lang = signal(initial());

/** Switch the interface language and the page's direction. */
export function setLanguage(code: string): void {
  if (!(code in catalogues)) return;
  globalThis.localStorage?.setItem("ej-lang", code);
  applyDocumentLanguage(code);
  lang.set(code);
}

export function applyDocumentLanguage(code: string): void {
  if (typeof document === "undefined") return;
  document.documentElement.lang = code;
  document.documentElement.dir = RTL.has(code) ? "rtl" : "ltr";
}

/** The text of a key in the current language, with {name} placeholders filled. */
export function t(key: Key, params: Record<string, string | number> = {}): string {
  const text = catalogues[lang.get()]?.[key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name: string) =>
    name in params ? formatValue(params[name]) : `{${name}}`,
  );
}

function formatValue(value: string | number): string {
  return typeof value === "number" ? formatNumber(value) : value;
}

/** A number as the language writes it. */
export function formatNumber(value: number, options?: Intl.NumberFormatOptions): string {
  return new Intl.NumberFormat(lang.get(), options).format(value);
}

/** A date (YYYY-MM-DD or ISO timestamp) as the language writes it. */
export function formatDate(value: string | null | undefined, withTime = false): string {
  if (!value) return "";
  const date = value.length === 10 ? new Date(`${value}T00:00:00Z`) : new Date(value);
  return new Intl.DateTimeFormat(lang.get(), {
    dateStyle: "medium",
    ...(withTime ? { timeStyle: "short" } : {}),
    timeZone: value.length === 10 ? "UTC" : undefined,
  }).format(date);
}

/** A byte count with its unit, per the language. */
export function formatBytes(bytes: number): string {
  const units = ["byte", "kilobyte", "megabyte", "gigabyte"] as const;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return formatNumber(value, {
    style: "unit",
    unit: units[unit],
    unitDisplay: unit === 0 ? "long" : "short", // "936 bytes", "1.2 MB"
    maximumFractionDigits: 1,
  });
}

/** A vocabulary code's label (issue types, statuses, kinds), falling back to the code. */
export function label(prefix: string, code: string): string {
  const key = `${prefix}.${code}` as Key;
  return key in en ? t(key) : code.replace(/_/g, " ");
}

/** Items joined as the language lists them ("a, b and c"). */
export function formatList(items: string[]): string {
  return new Intl.ListFormat(lang.get(), { style: "long", type: "conjunction" }).format(items);
}
