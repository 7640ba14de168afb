import type en from "./en";

// TEMPORARY copy until translated
import base from "./en";
const ar: Record<keyof typeof en, string> = { ...base };
export default ar;
