import type en from "./en";

// TEMPORARY copy until translated
import base from "./en";
const fr: Record<keyof typeof en, string> = { ...base };
export default fr;
