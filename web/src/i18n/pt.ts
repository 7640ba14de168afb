import type en from "./en";

// TEMPORARY copy until translated
import base from "./en";
const pt: Record<keyof typeof en, string> = { ...base };
export default pt;
